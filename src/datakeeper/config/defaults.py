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

# The hybrid home layout keeps these in /data/users/NAME/dotfiles and links them into
# the SSD home: the original tool's list, plus .zshenv, where datakeeper hooks .hpcrc
# for zsh (every zsh reads it, even "ssh host command").
DEFAULT_DOTFILES: tuple[str, ...] = (
    ".bashrc",
    ".zshrc",
    ".zshenv",
    ".profile",
    ".condarc",
    ".hpcrc",
    ".gitconfig",
    ".vimrc",
    ".tmux.conf",
    ".ssh",
    ".oh-my-zsh",
)

# Shared Miniconda (setup step 5, ENV). The SHA-256 of this exact installer, pinned
# identically by independent projects that verify their downloads against it
# (Spack's miniconda3 package, Docker images); repo.anaconda.com/miniconda lists it
# next to the file. Change URL and hash together.
DEFAULT_MINICONDA_URL = (
    "https://repo.anaconda.com/miniconda/Miniconda3-py312_24.7.1-0-Linux-x86_64.sh"
)
DEFAULT_MINICONDA_SHA256 = "33442cd3813df33dcbb4a932b938ee95398be98344dff4c30f7e757cd2110e4f"
DEFAULT_CONDA_PREFIX = "apps/miniconda3"
DEFAULT_DOWNLOAD_TIMEOUT_SECONDS = 60

# uv for everyone, installed with pip into its own virtual environment.
DEFAULT_UV_REQUIREMENT = "uv>=0.4,<1"
DEFAULT_UV_PREFIX = "apps/uv"
