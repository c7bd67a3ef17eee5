/* Read-only accessors of a parsed scheduler config (config.c builds it):
 * the jobs as tm_sched_job_info views and the paths in use. Everything
 * returned lives as long as the config. */
#include "sched/sched_int.h"

size_t tm_sched_config_n_jobs(const tm_sched_config *cfg)
{
    return cfg->n_jobs;
}

void tm_sched_config_job(const tm_sched_config *cfg, size_t i, tm_sched_job_info *out)
{
    const tm__sched_job *j = &cfg->jobs[i];
    out->name = j->name;
    out->command = j->command;
    out->trigger = j->trigger;
    out->grace_us = j->grace_us;
    out->coalesce = j->coalesce;
    out->timeout_s = j->timeout_s;
    out->estimate_s = j->estimate_s;
    out->skip_exit = j->skip_exit;
    out->n_resources = j->n_resources;
    out->resources = (const char *const *)j->resources;
}

const char *tm_sched_config_db(const tm_sched_config *cfg)
{
    return cfg->db;
}

const char *tm_sched_config_state_path(const tm_sched_config *cfg)
{
    return cfg->state;
}

const char *tm_sched_config_lock_path(const tm_sched_config *cfg)
{
    return cfg->lock;
}
