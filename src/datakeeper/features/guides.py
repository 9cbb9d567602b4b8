"""``datakeeper guide``: short help for researchers, filled in with this site's paths.

Each paragraph is one translatable unit of whole sentences with named
placeholders, so a translator can reorder them (Korean next). Topics are
plain data: a title and paragraphs; the CLI decides how to print them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from datakeeper.errors import InvalidInputError
from datakeeper.features.users.layouts import kept_folders, layout_of
from datakeeper.i18n import _
from datakeeper.system import accounts

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass(frozen=True)
class Section:
    """A heading and its paragraphs."""

    title: str
    paragraphs: tuple[str, ...]


def _places(cfg: SiteConfig) -> dict[str, str]:
    """The site's paths and names the guides mention."""
    shared, personal = cfg.resolved_env()
    root = cfg.storage.data_root
    backup = cfg.storage.backup_root
    return {
        "data": str(root),
        "backup": str(backup) if backup else "",
        "users": str(cfg.users_dir),
        "dataset": str(root / "dataset"),
        "code": str(root / "code"),
        "hf": shared.get("HF_HOME", str(root / "models/huggingface")),
        "torch": shared.get("TORCH_HOME", str(root / "models/torch")),
        "pkgs": shared.get("CONDA_PKGS_DIRS", str(root / "cache/conda/pkgs")),
        "envs": personal.get("CONDA_ENVS_PATH", "$HOME/conda/envs"),
        "conda": str(cfg.conda_prefix),
        "group": cfg.group,
        "umask": f"{cfg.home.umask:03o}",
    }


def general(cfg: SiteConfig) -> list[Section]:
    """Where to put data, how to share models, what a reboot wipes, umask."""
    p = _places(cfg)
    survives = _("{data} and {backup}").format(**p) if p["backup"] else p["data"]
    return [
        Section(_("What is wiped at reboot"), (
            _("This server's system disk is wiped at every reboot: everything in /, /tmp, "
              "/usr/local and /home that is not a link to {survives} is gone afterwards. "
              "Only the files stored under {survives} survive.").format(survives=survives),
            _("Never keep work only on the system disk. Run 'datakeeper env' to see where "
              "your home really lives; it should be under {users}.").format(**p),
        )),
        Section(_("Where to put your data"), (
            _home_paragraph(cfg, p),
            _("Large datasets that several people use go to {dataset}; code you share goes "
              "to {code}. Ask before you fill a shared folder with hundreds of gigabytes.")
            .format(**p),
        )),
        Section(_("Sharing models"), (
            _("Hugging Face and PyTorch download models into shared folders ({hf} and {torch}): "
              "the login shell sets HF_HOME, TORCH_HOME and the other variables, so a model "
              "one person downloads is there for everyone. Do not change these variables and "
              "do not copy models into your home.").format(**p),
        )),
        Section(_("Permissions and umask"), (
            _("Members of {group} share these folders. Your umask must be {umask} so that the "
              "others can update what you put there; the login shell sets it. Check it with "
              "'datakeeper env', and do not set another umask in your shell files.").format(**p),
        )),
        Section(_("Disk space"), (
            _("Run 'datakeeper disk' to see how full the disks are and how much your home "
              "takes. Old package and model caches can be cleaned with 'datakeeper cache'.")
            ,
            _("For Python environments, read 'datakeeper guide conda'."),
        )),
    ]  # fmt: skip


def _home_paragraph(cfg: SiteConfig, p: dict[str, str]) -> str:
    if my_layout(cfg) == "hybrid":
        kept = "".join(f", ~/{folder}" for folder in kept_folders(cfg))
        return _(
            "Your home is on the fast system disk and is rebuilt at every reboot; the folder "
            "'data' in it links to your own folder in {users}. Keep your code, notebooks and "
            "results under ~/data. Your dotfiles ({dotfiles}){kept} are links to the data "
            "disk and survive; everything else in your home is wiped at reboot, including "
            "~/.cache, where XDG_CACHE_HOME, pip and uv keep their caches (fast, and filled "
            "again when needed)."
        ).format(dotfiles=", ".join(cfg.home.dotfiles), kept=kept, **p)
    return _(
        "Your home is a link into {users}, so everything in it survives a reboot. Keep your "
        "code, notebooks and results there."
    ).format(**p)


def my_layout(cfg: SiteConfig) -> str:
    """The caller's home layout on disk, or the site's default when the caller has none."""
    me = accounts.user_by_uid(os.getuid())
    found = layout_of(cfg, me.name) if me is not None else None
    return found or cfg.home.layout


def conda(cfg: SiteConfig) -> list[Section]:
    """How to use the shared Miniconda without filling anyone's disk."""
    p = _places(cfg)
    return [
        Section(_("The shared conda"), (
            _("Miniconda is installed once for everyone in {conda}, and every login shell "
              "has the 'conda' command. Its base environment belongs to the admin: do not "
              "install packages into it; make your own environment.").format(**p),
            _("Downloaded packages are kept in the shared cache {pkgs}, so a package one person "
              "downloads is not downloaded again. Your environments go to {envs}, in your home, "
              "so they survive a reboot.").format(**p),
        )),
        Section(_("Your own environment"), (
            _("Create one with 'conda create -n myproject python=3.11', then run "
              "'conda activate myproject'. List yours with 'conda env list' and remove one "
              "with 'conda env remove -n myproject'."),
            _("Inside an environment, 'uv pip install PACKAGE' installs pip packages much "
              "faster than pip; 'pip install' works too."),
        )),
        Section(_("If something is wrong"), (
            _("If 'conda' is not found or environments land in the wrong place, log in again "
              "and run 'datakeeper env': it shows CONDA_PKGS_DIRS, CONDA_ENVS_PATH and where "
              "conda is."),
        )),
    ]  # fmt: skip


def gpu(cfg: SiteConfig) -> list[Section]:
    """Choosing a GPU with CUDA_VISIBLE_DEVICES, and seeing who uses which."""
    return [
        Section(_("Who uses which GPU"), (
            _("Run 'datakeeper gpu' before you start: it shows every GPU's memory, load, "
              "temperature and power, and your own processes on them (other people's are "
              "counted). 'datakeeper gpu --by-user' adds up memory per user, "
              "'datakeeper gpu --watch' refreshes every 2 seconds, and 'datakeeper gpu --idle' "
              "lists processes that hold GPU memory while the GPU does nothing."),
            _("Pick a GPU nobody uses, or the least loaded one. The menu has the same view "
              "under 'GPUs'."),
        )),
        Section(_("Choosing your GPUs"), (
            _("CUDA_VISIBLE_DEVICES says which GPUs a program may use: "
              "'CUDA_VISIBLE_DEVICES=1 python train.py' runs on GPU 1 only, "
              "'CUDA_VISIBLE_DEVICES=0,2' on GPUs 0 and 2. Inside the program they are "
              "numbered from 0 again, so GPU 1 becomes cuda:0."),
            _("Without it, PyTorch and TensorFlow see every GPU and often take memory on all "
              "of them. Set it in the command, not in your shell files, so that each run "
              "picks the GPU that is free at that moment."),
        )),
        Section(_("Do not hold a GPU you are not using"), (
            _("A notebook kernel keeps its GPU memory until it stops, even when it computes "
              "nothing. Shut down kernels you no longer need (or call "
              "torch.cuda.empty_cache() after freeing tensors) so that others can use the "
              "GPU. The admin may be alerted about processes that hold memory on an idle "
              "GPU for a long time."),
            _("Nothing about GPUs has to survive a reboot: after one, every process is gone "
              "and the GPUs are free."),
        )),
    ]  # fmt: skip


TOPICS: dict[str, Callable[[SiteConfig], list[Section]]] = {
    "general": general,
    "conda": conda,
    "gpu": gpu,
}


def guide(cfg: SiteConfig, topic: str | None = None) -> list[Section]:
    """The sections of ``topic`` (the general guide when None)."""
    name = topic or "general"
    if name not in TOPICS:
        raise InvalidInputError(
            _("no guide called {topic}; pick one of: {topics}").format(
                topic=name, topics=", ".join(TOPICS)
            )
        )
    return TOPICS[name](cfg)
