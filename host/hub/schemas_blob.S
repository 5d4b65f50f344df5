/* The shipped schema set (schemas.json) as a NUL-terminated string, so ftrack-host needs no
 * data file at run time. */
    .section .rodata
    .global fth_shipped_schemas
    .type fth_shipped_schemas, @object
    .balign 16
fth_shipped_schemas:
    .incbin FTRACK_HUB_SCHEMA_FILE
    .byte 0
    .size fth_shipped_schemas, . - fth_shipped_schemas
    .section .note.GNU-stack,"",@progbits
