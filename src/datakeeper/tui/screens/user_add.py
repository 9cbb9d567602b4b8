"""Add user: name (checked as typed), groups, SSH key, shell; a summary; then the handout."""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
    TextArea,
)

from datakeeper.errors import DatakeeperError
from datakeeper.i18n import _
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.textpanel import TextPanel

KEY_CHOICES = (("generate", _("Generate a key pair")), ("paste", _("Paste public key(s)")),
               ("skip", _("No key now")))  # fmt: skip
KEY_TYPES = ("ed25519", "rsa", "ecdsa")


class UserAddScreen(FeatureScreen):
    """The form; ctrl+s (or Review) plans the account and asks before creating it."""

    TITLE = _("Add user")
    BINDINGS = [Binding("ctrl+s", "review", _("Review"))]
    DEFAULT_CSS = """
    UserAddScreen SelectionList { height: auto; max-height: 6; }
    UserAddScreen RadioSet { layout: horizontal; height: auto; width: 1fr; }
    UserAddScreen TextArea { height: 5; }
    UserAddScreen #name-check { padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cfg = None

    def body(self) -> Iterable[Widget]:
        with VerticalScroll(id="form"):
            yield Label(_("User name"), classes="field-label")
            yield Input(id="name", placeholder=_("lowercase, e.g. alice"))
            yield Static(id="name-check", markup=False)
            yield Label(_("Full name (optional)"), classes="field-label")
            yield Input(id="gecos")
            yield Label(_("Extra groups"), classes="field-label")
            yield Static(id="groups-hint", classes="hint", markup=False)
            yield SelectionList[str](id="groups")
            yield Label(_("SSH key"), classes="field-label")
            with RadioSet(id="key"):
                for index, (_key, label) in enumerate(KEY_CHOICES):
                    yield RadioButton(label, value=index == 0)
            with RadioSet(id="keytype"):
                for index, kind in enumerate(KEY_TYPES):
                    yield RadioButton(kind if kind != "rsa" else "rsa (4096)", value=index == 0)
            yield TextArea(id="pubkeys")
            yield Label(_("Shell"), classes="field-label")
            yield RadioSet(id="shell")
            yield Checkbox(_("Temporary password (changed at first login)"), id="temp")
            yield Checkbox(_("The account exists: set up its environment only"), id="envonly")
            with Horizontal(classes="buttons"):
                yield Button(_("Review"), id="review", variant="primary")
                yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#pubkeys").display = False
        self.cfg = self.config()
        if self.cfg is not None:
            self._fill(self.cfg)
        self.query_one("#name", Input).focus()

    def _fill(self, cfg) -> None:
        self.query_one("#groups-hint", Static).update(
            _("Always in {group}. Pick any others (space toggles):").format(group=cfg.group)
        )
        try:
            groups = self.features.user_groups(cfg)
        except DatakeeperError as error:
            groups = []
            self.status.error(str(error))
        self.query_one("#groups", SelectionList).add_options([(g, g) for g in groups])
        shells = self.query_one("#shell", RadioSet)
        for shell in cfg.home.allowed_shells:
            shells.mount(RadioButton(shell, value=shell == cfg.home.default_shell))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "name":
            return
        check = self.query_one("#name-check", Static)
        try:
            self.features.check_username(event.value)
        except DatakeeperError as error:
            check.update("✗ " + str(error))
        else:
            check.update("✓ " + _("valid name"))

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id == "key":
            choice = KEY_CHOICES[event.index][0]
            self.query_one("#keytype").display = choice == "generate"
            self.query_one("#pubkeys").display = choice == "paste"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "review":
            self.action_review()
        else:
            self.action_back()

    # -- the request -------------------------------------------------------------

    def request(self):
        """The AddRequest the form describes."""
        from datakeeper.features.user_add import AddRequest

        key = KEY_CHOICES[self._index("#key")][0]
        shell = self.query_one("#shell", RadioSet).pressed_button
        pasted = self.query_one("#pubkeys", TextArea).text.strip()
        return AddRequest(
            name=self.query_one("#name", Input).value.strip(),
            groups=tuple(self.query_one("#groups", SelectionList).selected),
            shell=str(shell.label) if shell is not None else None,
            gecos=self.query_one("#gecos", Input).value.strip(),
            public_keys=pasted if key == "paste" and pasted else None,
            generate_key=KEY_TYPES[self._index("#keytype")] if key == "generate" else None,
            temp_password=self.query_one("#temp", Checkbox).value,
            env_only=self.query_one("#envonly", Checkbox).value,
        )

    def _index(self, selector: str) -> int:
        index = self.query_one(selector, RadioSet).pressed_index
        return max(index, 0)

    def action_review(self) -> None:
        """Plan the account (a dry run) and show the summary before anything is created."""
        if self.cfg is None:
            return
        request = self.request()
        self.call(_("planning {name}").format(name=request.name or "?"), self.features.add_user,
                  self.cfg, request, dry_run=True, then=lambda plan: self._confirm(request, plan))  # fmt: skip

    def _confirm(self, request, plan) -> None:
        from datakeeper.tui.screens.confirm import ConfirmScreen

        key = request.generate_key or (_("pasted") if request.public_keys else _("none"))
        lines = [
            _("name:    {name} {gecos}").format(name=request.name, gecos=request.gecos),
            _("groups:  {groups}").format(groups=", ".join([self.cfg.group, *request.groups])),
            _("shell:   {shell}").format(shell=request.shell or self.cfg.home.default_shell),
            _("ssh key: {key}").format(key=key),
            "",
            _("{n} change(s):").format(n=len(plan.changes)),
            *[f"  → {c}" for c in plan.changes],
        ]
        question = _("Create {name}?").format(name=request.name)
        self.app.push_screen(
            ConfirmScreen(question, lines, _("Create")), lambda yes: self._create(request, yes)
        )

    def _create(self, request, yes: bool | None) -> None:
        if yes:
            self.call(_("creating {name}").format(name=request.name), self._add, request,
                      then=self._done)  # fmt: skip

    def _add(self, request):
        result = self.features.add_user(self.cfg, request, dry_run=False)
        return self.features.handout(self.cfg, result)

    def _done(self, sheet: dict) -> None:
        self.app.switch_screen(HandoutScreen(sheet))


class HandoutScreen(FeatureScreen):
    """What to tell the new user: how to log in, the key, the password, the home."""

    TITLE = _("Handout")

    def __init__(self, sheet: dict) -> None:
        super().__init__()
        self.sheet = sheet

    def body(self) -> Iterable[Widget]:
        yield TextPanel(id="handout")

    def on_mount(self) -> None:
        super().on_mount()
        lines = list(self.sheet.get("text", []))
        for fingerprint in self.sheet.get("key_fingerprints", []):
            lines.append(_("Key fingerprint: {fp}").format(fp=fingerprint))
        if self.sheet.get("private_key"):
            lines += ["", self.sheet["private_key"]]
        lines += ["", _("Esc goes back to the menu.")]
        panel = self.query_one(TextPanel)
        panel.show(lines)
        panel.focus()
        self.status.done(_("{name} is ready.").format(name=self.sheet.get("name", "")))
