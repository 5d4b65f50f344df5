/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host plugins`: what would load, with each plugin's parameters, and why anything
 * would be refused. Connects nowhere (loading a plugin runs only its constructors and entry
 * point, never register). */
#include <stdio.h>
#include <stdlib.h>

#include <ftrack/ftrack.h>
#include "cli/cli.h"
#include "config/host_options.h"
#include "runtime/plugin_host.h"

static void print_params(FILE *out, const ftrack_plugin_descriptor_v1 *d)
{
    if (d->param_count == 0) {
        fprintf(out, "  parameters: none\n");
        return;
    }
    fprintf(out, "  parameters:\n");
    for (size_t i = 0; i < d->param_count; i++) {
        const ftrack_plugin_param *p = &d->params[i];
        fprintf(out, "    %-20s %-6s %-8s default %-12s %s\n", p->name,
                ftrack_plugin_param_type_name(p->type), p->required ? "required" : "optional",
                p->default_json ? p->default_json : "-", p->help ? p->help : "");
    }
}

static void print_instances(FILE *out, const fth_plan *plan, const ftrack_plugin_descriptor_v1 *d)
{
    for (size_t i = 0; i < plan->instance_count; i++) {
        const fth_plan_instance *inst = &plan->instances[i];
        if (inst->descriptor != d)
            continue;
        if (inst->refusal) {
            fprintf(out, "  instance %s: REFUSED: %s\n", inst->name, inst->refusal);
            continue;
        }
        /* Names only: values may be secrets (a webhook's signing key, say). */
        fprintf(out, "  instance %s: would load; arguments given:", inst->name);
        json_object *args = json_tokener_parse(inst->arguments_json);
        size_t count = 0;
        json_object_object_foreach(args, key, value)
        {
            (void)value;
            fprintf(out, "%s %s", count++ ? "," : "", key);
        }
        fprintf(out, "%s\n", count ? "" : " none");
        json_object_put(args);
        if (inst->dropped)
            fprintf(out, "    not declared, so not passed: %s\n", inst->dropped);
    }
}

/* The .py plugins: what runs with --python-plugins, or that they would. */
static void print_python(FILE *out, const fth_plan *plan)
{
    for (size_t f = 0; f < plan->python_file_count; f++) {
        const char *path = plan->python_files[f];
        fprintf(out, "\npython plugin %s\n", path);
        if (!plan->python_enabled) {
            fprintf(out, "  a Python plugin: runs with --python-plugins (isolated, under %s)\n",
                    plan->python_argv[0]);
            continue;
        }
        size_t shown = 0;
        for (size_t i = 0; i < plan->instance_count; i++) {
            const fth_plan_instance *inst = &plan->instances[i];
            if (!inst->command || inst->path != path)
                continue;
            shown++;
            if (inst->refusal)
                fprintf(out, "  instance %s: REFUSED: %s\n", inst->name, inst->refusal);
            else
                fprintf(out, "  instance %s: would run isolated under %s\n", inst->name,
                        plan->python_argv[0]);
        }
        if (!shown)
            fprintf(out, "  no instance: disabled in the configuration\n");
    }
    for (size_t i = 0; i < plan->python_refused_count; i++)
        fprintf(out, "refused python plugin file %s\n", plan->python_refused[i]);
}

static void print_plan(FILE *out, const fth_plan *plan, const char *paths)
{
    size_t n = ftrack_plugin_set_count(plan->set);
    fprintf(out, "plugin path: %s\n", paths && *paths ? paths : "(empty)");
    size_t loaded = 0;
    for (size_t i = 0; i < n; i++) {
        const ftrack_plugin_descriptor_v1 *d = ftrack_plugin_set_descriptor(plan->set, i);
        if (!d)
            continue;
        loaded++;
        fprintf(out, "\nplugin %s %s (ABI v%u) %s\n", d->name, d->version,
                ftrack_plugin_set_abi_version(plan->set, i), ftrack_plugin_set_path(plan->set, i));
        if (d->description && *d->description)
            fprintf(out, "  %s\n", d->description);
        print_params(out, d);
        print_instances(out, plan, d);
    }
    print_python(out, plan);
    if (plan->refused_files)
        fprintf(out, "\n");
    for (size_t i = 0; i < n; i++) {
        const char *why = ftrack_plugin_set_refusal(plan->set, i);
        if (why)
            fprintf(out, "refused %s: %s\n", ftrack_plugin_set_path(plan->set, i), why);
    }
    for (size_t i = 0; i < plan->note_count; i++)
        fprintf(out, "note: %s\n", plan->notes[i]);
    fprintf(out, "\n%zu plugin%s loadable, %zu file%s refused, %zu instance%s refused\n", loaded,
            loaded == 1 ? "" : "s", plan->refused_files, plan->refused_files == 1 ? "" : "s",
            plan->refused_instances, plan->refused_instances == 1 ? "" : "s");
}

int fth_cmd_plugins(int argc, char **argv)
{
    fth_host_options o;
    int rc = fth_cli_exit_code(fth_host_options_parse(argc, argv, FTH_OPTIONS_PLUGINS, &o));
    if (rc || o.help) {
        if (o.help)
            fth_host_options_usage(stdout, FTH_OPTIONS_PLUGINS);
        fth_host_options_clear(&o);
        return rc;
    }
    if (o.has_log_level)
        ftrack_log_set_level(o.log_level);
    char *paths = fth_resolve_plugin_paths(&o);
    fth_plan_options po = {.plugin_paths = paths,
                           .text_arguments = o.text_arguments,
                           .config = &o.config};
    fth_python_settings(&o, &o.config, &po.python_plugins, &po.python);
    fth_plan plan;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_plan_build(&po, &plan, &err) != FTRACK_OK) {
        fprintf(stderr, "ftrack-host: %s\n", err.message);
        free(paths);
        fth_host_options_clear(&o);
        return FTH_EXIT_FAILURE;
    }
    print_plan(stdout, &plan, paths);
    fflush(stdout);
    rc = plan.refused_files || plan.refused_instances ? FTH_EXIT_FAILURE : FTH_EXIT_OK;
    fth_plan_clear(&plan);
    free(paths);
    fth_host_options_clear(&o);
    return rc;
}
