"""Default values that reproduce the original system's layout (plain data, no pydantic)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DATA_ROOT = Path("/data")
# state_dir, when not given, is this folder below data_root.
STATE_SUBDIR = Path("config/datakeeper")

# (path below data_root, mode, owner): "admin" folders are shared and sticky,
# "root" folders hold homes, installed tools and the config.
DEFAULT_FOLDER_ROWS: tuple[tuple[str, int, str], ...] = (
    ("users", 0o2755, "root"),
    ("models", 0o3775, "admin"),
    ("models/huggingface", 0o3775, "admin"),
    ("models/huggingface/hub", 0o3775, "admin"),
    ("models/huggingface/datasets", 0o3775, "admin"),
    ("models/torch", 0o3775, "admin"),
    ("models/comfyui", 0o3775, "admin"),
    ("models/flux", 0o3775, "admin"),
    ("cache", 0o3775, "admin"),
    ("cache/conda", 0o3775, "admin"),
    ("cache/conda/pkgs", 0o3775, "admin"),
    ("apps", 0o2755, "root"),
    ("config", 0o2755, "root"),
    ("dataset", 0o3775, "admin"),
    ("code", 0o3775, "admin"),
)

DEFAULT_SHARED_ENV: dict[str, str] = {
    "HF_HOME": "{data_root}/models/huggingface",
    "HF_HUB_CACHE": "{data_root}/models/huggingface/hub",
    "HF_DATASETS_CACHE": "{data_root}/models/huggingface/datasets",
    "TORCH_HOME": "{data_root}/models/torch",
    "COMFYUI_HOME": "{data_root}/models/comfyui",
    "FLUX_HOME": "{data_root}/models/flux",
    "CONDA_PKGS_DIRS": "{data_root}/cache/conda/pkgs",
}

DEFAULT_PERSONAL_ENV: dict[str, str] = {"CONDA_ENVS_PATH": "$HOME/conda/envs"}
