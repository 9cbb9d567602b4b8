"""The GPUs through NVIDIA's NVML (the ``nvidia-ml-py`` package, ``import pynvml``).

The only module that imports pynvml. ``GpuBackend`` is the handful of calls the
GPU view needs; ``NvmlBackend`` makes them with pynvml and a fake in the tests
makes them from plain data. ``read_gpus`` turns a backend into one
``GpuReading`` and never raises: no library, no driver or no device is a
reading with ``available`` False and the reason, never a traceback.

Running processes are asked for with the newest call first and the older ones
after it (``_v3``, ``_v2``, then the unversioned v1 symbol), as nvitop does:
the struct NVML fills in changed between driver versions, and an older driver
lacks the newer symbols (pynvml raises ``NVMLError_FunctionNotFound``).
"""

from __future__ import annotations

import contextlib
import ctypes
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from datakeeper.i18n import _

PROCESS_CALLS = (3, 2, 1)  # newest first: the struct layouts differ between drivers


class NoGpuError(Exception):
    """No NVML library, no driver loaded, or no device: there is nothing to show."""


class CallMissingError(Exception):
    """This driver lacks the NVML call (an older one, without a newer ``_vN``)."""


@dataclass(frozen=True)
class GpuFigures:
    """One GPU as NVML reports it; a figure the GPU does not report is None."""

    index: int
    name: str
    uuid: str
    memory_used: int
    memory_total: int
    utilization: int | None  # percent of the last sample period the GPU was busy
    temperature: int | None  # degrees Celsius
    power_watts: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GpuProcessFigures:
    """A process holding a context on a GPU; ``used_memory`` None when NVML cannot say."""

    pid: int
    gpu: int
    used_memory: int | None


@dataclass
class GpuReading:
    """Every GPU and the processes on them, or why there are none."""

    available: bool
    reason: str = ""
    driver: str = ""
    process_call: int | None = None  # which running-processes call answered (3, 2 or 1)
    gpus: list[GpuFigures] = field(default_factory=list)
    processes: list[GpuProcessFigures] = field(default_factory=list)


class GpuBackend(Protocol):
    """The NVML calls the GPU view makes (``NoGpuError`` from ``start`` when none)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def driver_version(self) -> str: ...
    def device_count(self) -> int: ...
    def figures(self, index: int) -> GpuFigures: ...
    def processes(self, index: int, call: int) -> list[tuple[int, int | None]]: ...


def read_gpus(backend: GpuBackend) -> GpuReading:
    """Every GPU and its compute processes; ``available`` False (with the reason) when
    there is no library, no driver or no device."""
    try:
        backend.start()
    except NoGpuError as error:
        return GpuReading(available=False, reason=str(error))
    try:
        count = backend.device_count()
        if count == 0:
            return GpuReading(available=False, reason=_("no NVIDIA device"))
        reading = GpuReading(available=True, driver=backend.driver_version())
        for index in range(count):
            reading.gpus.append(backend.figures(index))
            found, reading.process_call = _processes(backend, index, reading.process_call)
            reading.processes += [GpuProcessFigures(pid, index, mem) for pid, mem in found]
        return reading
    except NoGpuError as error:  # the driver went away between two calls
        return GpuReading(available=False, reason=str(error))
    finally:
        backend.stop()


def _processes(
    backend: GpuBackend, index: int, known: int | None
) -> tuple[list[tuple[int, int | None]], int | None]:
    """The processes on GPU ``index`` from the newest call this driver has (remembered in
    ``known`` after the first GPU)."""
    for call in PROCESS_CALLS if known is None else (known,):
        try:
            return backend.processes(index, call), call
        except CallMissingError:
            continue
    return [], known  # a driver with none of them: the GPUs are still worth showing


class _ProcessInfoV1(ctypes.Structure):
    """``nvmlProcessInfo_v1_t``: what the unversioned call fills in (pid, memory only)."""

    _fields_ = [("pid", ctypes.c_uint), ("usedGpuMemory", ctypes.c_ulonglong)]


NOT_AVAILABLE = ctypes.c_ulonglong(-1).value  # NVML_VALUE_NOT_AVAILABLE for a 64-bit figure


class NvmlBackend:
    """``GpuBackend`` on the real NVML, through nvidia-ml-py."""

    def __init__(self) -> None:
        self.nvml: Any = None

    def start(self) -> None:
        """Load pynvml and NVML; ``NoGpuError`` without the library or the driver."""
        # Imported here, when the GPUs are read: pynvml defines ctypes structures for the
        # whole NVML API, and `datakeeper --help` must stay fast.
        try:
            import pynvml
        except ImportError as error:
            missing = _("nvidia-ml-py is not installed ({error})").format(error=error)
            raise NoGpuError(missing) from None
        self.nvml = pynvml
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as error:
            self.nvml = None
            raise NoGpuError(_describe(error)) from None

    def stop(self) -> None:
        if self.nvml is not None:
            with contextlib.suppress(self.nvml.NVMLError):  # nothing left to release
                self.nvml.nvmlShutdown()
            self.nvml = None

    def driver_version(self) -> str:
        return _text(self._call(self.nvml.nvmlSystemGetDriverVersion))

    def device_count(self) -> int:
        return self._call(self.nvml.nvmlDeviceGetCount)

    def figures(self, index: int) -> GpuFigures:
        nvml = self.nvml
        handle = self._call(nvml.nvmlDeviceGetHandleByIndex, index)
        memory = self._call(nvml.nvmlDeviceGetMemoryInfo, handle)
        util = self._optional(nvml.nvmlDeviceGetUtilizationRates, handle)
        temp = self._optional(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
        power = self._optional(nvml.nvmlDeviceGetPowerUsage, handle)  # milliwatts
        return GpuFigures(
            index=index,
            name=_text(self._call(nvml.nvmlDeviceGetName, handle)),
            uuid=_text(self._optional(nvml.nvmlDeviceGetUUID, handle) or ""),
            memory_used=int(memory.used),
            memory_total=int(memory.total),
            utilization=None if util is None else int(util.gpu),
            temperature=temp,
            power_watts=None if power is None else power / 1000,
        )

    def processes(self, index: int, call: int) -> list[tuple[int, int | None]]:
        nvml = self.nvml
        handle = self._call(nvml.nvmlDeviceGetHandleByIndex, index)
        try:
            if call == 1:
                return self._processes_v1(handle)
            # pynvml already turns NVML_VALUE_NOT_AVAILABLE into None here.
            found = getattr(nvml, f"nvmlDeviceGetComputeRunningProcesses_v{call}")(handle)
        except nvml.NVMLError_FunctionNotFound:
            raise CallMissingError(call) from None
        except nvml.NVMLError:
            return []  # not supported on this GPU, or no permission: its figures still show
        return [(int(p.pid), p.usedGpuMemory) for p in found]

    def _processes_v1(self, handle) -> list[tuple[int, int | None]]:
        """The unversioned symbol with the v1 struct: pynvml maps it to v3 nowadays."""
        nvml = self.nvml
        function = nvml._nvmlGetFunctionPointer("nvmlDeviceGetComputeRunningProcesses")
        count = ctypes.c_uint(0)
        result = function(handle, ctypes.byref(count), None)
        if result == nvml.NVML_SUCCESS:
            return []
        if result != nvml.NVML_ERROR_INSUFFICIENT_SIZE:
            raise nvml.NVMLError(result)
        count.value = count.value * 2 + 5  # room for processes started meanwhile
        infos = (_ProcessInfoV1 * count.value)()
        nvml._nvmlCheckReturn(function(handle, ctypes.byref(count), infos))
        found = infos[: count.value]
        return [(int(p.pid), _memory(p.usedGpuMemory)) for p in found]

    def _call(self, function, *args):
        """A required call: a lost driver becomes ``NoGpuError``."""
        try:
            return function(*args)
        except self.nvml.NVMLError as error:
            raise NoGpuError(_describe(error)) from None

    def _optional(self, function, *args):
        """A figure some GPUs do not report (NOT_SUPPORTED and the like): None then."""
        try:
            return function(*args)
        except self.nvml.NVMLError:
            return None


def _describe(error: Exception) -> str:
    """NVML's error as one short line."""
    return " ".join(str(error).split()) or type(error).__name__


def _text(value: str | bytes) -> str:
    """Older pynvml releases return bytes."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _memory(value: int) -> int | None:
    return None if value == NOT_AVAILABLE else int(value)
