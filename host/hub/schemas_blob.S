/* SPDX-License-Identifier: Apache-2.0 */
/* The shipped schema set (schemas.json) as a NUL-terminated string, so ftrack-host needs no
 * data file at run time. */
    .section .rodata
    .global fhub_shipped_schemas
    .type fhub_shipped_schemas, @object
    .balign 16
fhub_shipped_schemas:
    .incbin FTRACK_HUB_SCHEMA_FILE
    .byte 0
    .size fhub_shipped_schemas, . - fhub_shipped_schemas
    .section .note.GNU-stack,"",@progbits
