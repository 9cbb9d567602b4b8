"""``datakeeper check``'s GPU line: the NVIDIA driver's state.

A server without an NVIDIA GPU or driver is no failure (datakeeper manages
accounts and storage either way): SKIP with the reason. With a driver: PASS,
its version and how many GPUs it sees.
"""

from __future__ import annotations

from datakeeper.features.check.result import PASS, SKIP, CheckResult
from datakeeper.features.gpu.snapshot import no_gpu_line
from datakeeper.i18n import _, ngettext
from datakeeper.system.nvml import GpuBackend, NvmlBackend, read_gpus


def check_gpu_driver(backend: GpuBackend | None = None) -> list[CheckResult]:
    """One GPU line: PASS with the driver version, or SKIP when there is none."""
    reading = read_gpus(NvmlBackend() if backend is None else backend)
    what = _("NVIDIA driver")
    if not reading.available:
        detail = f"{no_gpu_line()} ({reading.reason})" if reading.reason else no_gpu_line()
        return [CheckResult("GPU", what, SKIP, detail)]
    count = len(reading.gpus)
    found = ngettext("driver {version}, {n} GPU", "driver {version}, {n} GPUs", count).format(
        version=reading.driver, n=count
    )
    return [CheckResult("GPU", what, PASS, found)]
