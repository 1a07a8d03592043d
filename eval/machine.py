"""What machine a report was measured on: CPU model, core count and the vector extensions that matter
for the CPU inference paths (avx2, avx512f, avx512_vnni)."""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

VECTOR_EXTENSIONS = ("avx2", "avx512f", "avx512_vnni")


@dataclass
class Machine:
    cpu: str = ""
    cores: int = 0
    vector_extensions: list[str] = field(default_factory=list)

    def label(self) -> str:
        """'AMD EPYC, 2 cores (avx2, avx512f, avx512_vnni)': what every measured figure is printed beside."""
        return f"{self.cpu or '?'}, {self.cores} cores ({', '.join(self.vector_extensions) or 'no AVX2'})"


def parse_cpuinfo(text: str) -> Machine:
    """The first 'model name' and the listed VECTOR_EXTENSIONS of the first 'flags' line of /proc/cpuinfo."""
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = " ".join(value.split())
        elif key == "flags" and not flags:
            flags = set(value.split())
    return Machine(cpu=model, vector_extensions=[x for x in VECTOR_EXTENSIONS if x in flags])


def machine_info(cpuinfo: str | Path = "/proc/cpuinfo") -> Machine:
    """This machine (the CPU model falls back to platform.processor() where there is no /proc/cpuinfo)."""
    try:
        m = parse_cpuinfo(Path(cpuinfo).read_text(errors="replace"))
    except OSError:
        m = Machine()
    m.cpu = m.cpu or platform.processor() or platform.machine()
    m.cores = os.cpu_count() or 0
    return m
