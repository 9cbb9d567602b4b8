"""``datakeeper check --fix``: converge everything ``check`` plans that a resource can fix."""

from __future__ import annotations

from datakeeper.engine.session import change_session
from datakeeper.features.enabled import enabled_steps
from datakeeper.features.setup.init import (
    SetupReport,
    SetupReporter,
    StepResult,
    run_setup,
    run_step,
)
from datakeeper.features.setup.steps import SetupContext


def fix(ctx: SetupContext, *, dry_run: bool, reporter: SetupReporter) -> SetupReport:
    """The setup steps, then what the admin enabled since (boot recovery, the disk alert
    schedule, the packages), with the plans ``check`` reports; one report for all."""
    report = run_setup(ctx, dry_run=dry_run, reporter=reporter)
    steps = enabled_steps(ctx.cfg, ctx.config_path)
    if not steps:
        return report
    with change_session(ctx.cfg, dry_run=dry_run) as session:
        for index, step in enumerate(steps, start=1):
            result = StepResult(step.key, step.title, notes=list(step.notes))
            reporter.step_started(index, len(steps), step)
            run_step(session, step, result, dry_run, reporter)
            reporter.step_finished(result)
            report.steps.append(result)
    return report
