"""Add user: name (checked as typed), groups, SSH key, shell; a summary; then the handout."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioSet,
    Static,
    TextArea,
)

from datakeeper.errors import DatakeeperError
from datakeeper.i18n import _
from datakeeper.status import yes_no
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.screens.confirm import ConfirmScreen
from datakeeper.tui.widgets.textpanel import TextPanel
from datakeeper.tui.widgets.toggles import Checklist, MarkedCheckbox, MarkedRadioButton

KEY_CHOICES = (("generate", _("generate a pair")), ("paste", _("paste")), ("skip", _("none")))
KEY_TYPES = ("ed25519", "rsa", "ecdsa")
# The home layouts (features.users.layouts, not imported: it loads the engine).
LAYOUT_CHOICES = (
    ("link", _("link: all on the data disk")),
    ("hybrid", _("hybrid: SSD home, data linked")),
)


class UserAddScreen(FeatureScreen):
    """The form; ctrl+s (or Review) plans the account and asks before creating it."""

    HEADING = _("Add user")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "review", _("Review"))]
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
            yield Checklist(id="groups")
            yield Label(
                _("SSH key (a generated private key stays root-only)"), classes="field-label"
            )
            with RadioSet(id="key"):
                for index, (_key, label) in enumerate(KEY_CHOICES):
                    yield MarkedRadioButton(label, value=index == 0)
            with RadioSet(id="keytype"):
                for index, kind in enumerate(KEY_TYPES):
                    label = kind if kind != "rsa" else "rsa (4096)"
                    yield MarkedRadioButton(label, value=index == 0)
            yield TextArea(id="pubkeys")
            yield Label(_("Shell"), id="shell-label", classes="field-label")
            yield MarkedCheckbox(_("Temporary password (changed at first login)"), id="temp")
            yield MarkedCheckbox(_("The account exists: set up its environment only"), id="envonly")
            # Last, so the fields above keep their places in the tab order.
            yield Label(_("Home layout"), id="layout-label", classes="field-label")
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
        checklist = self.query_one("#groups", Checklist)
        checklist.add_options([(g, g) for g in groups])
        checklist.highlighted = 0 if groups else None
        shells = [
            MarkedRadioButton(shell, value=shell == cfg.home.default_shell)
            for shell in cfg.home.allowed_shells
        ]
        self.query_one("#form").mount(RadioSet(*shells, id="shell"), after="#shell-label")
        layouts = [
            MarkedRadioButton(label, value=layout == cfg.home.layout)
            for layout, label in LAYOUT_CHOICES
        ]
        self.query_one("#form").mount(RadioSet(*layouts, id="layout"), after="#layout-label")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "name":
            return
        check = self.query_one("#name-check", Static)
        try:
            self.features.check_username(event.value)
        except DatakeeperError as error:
            check.update(f"{yes_no(False)} {error}")
        else:
            check.update(f"{yes_no(True)} " + _("valid name"))

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
        # Imported here: features.users.add loads the engine and resources (measured ~0.3 s),
        # too slow for the menu's start; this screen needs it only once the form is filled.
        from datakeeper.features.users.add import AddRequest

        key = KEY_CHOICES[self._index("#key")][0]
        shells = self.query("#shell")
        shell = shells.first(RadioSet).pressed_button if shells else None
        pasted = self.query_one("#pubkeys", TextArea).text.strip()
        return AddRequest(
            name=self.query_one("#name", Input).value.strip(),
            groups=tuple(self.query_one("#groups", Checklist).selected),
            shell=shell.text if shell is not None else None,
            gecos=self.query_one("#gecos", Input).value.strip(),
            public_keys=pasted if key == "paste" and pasted else None,
            generate_key=KEY_TYPES[self._index("#keytype")] if key == "generate" else None,
            temp_password=self.query_one("#temp", Checkbox).value,
            env_only=self.query_one("#envonly", Checkbox).value,
            layout=self._layout(),
        )

    def _layout(self) -> str | None:
        """The layout picked (None before the form is filled: the site's default)."""
        found = self.query("#layout")
        index = found.first(RadioSet).pressed_index if found else -1
        return LAYOUT_CHOICES[index][0] if index >= 0 else None

    def _index(self, selector: str) -> int:
        index = self.query_one(selector, RadioSet).pressed_index
        return max(index, 0)

    def action_review(self) -> None:
        """Show the summary (after the name's syntax check); nothing is created before yes.

        The feature validates the whole request again before it writes anything.
        """
        if self.cfg is None:
            return
        request = self.request()
        try:
            self.features.check_username(request.name)
        except DatakeeperError as error:
            self.status.error(str(error))
            return
        question = _("Create {name}?").format(name=request.name)
        self.app.push_screen(
            ConfirmScreen(question, self._summary(request), _("Create")),
            lambda yes: self._create(request, yes),
        )

    def _summary(self, request) -> list[str]:
        cfg = self.cfg
        key = request.generate_key or (_("pasted") if request.public_keys else _("none"))
        lines = [
            _("name:      {name} {gecos}").format(name=request.name, gecos=request.gecos),
            _("groups:    {groups}").format(groups=", ".join([cfg.group, *request.groups])),
            _("shell:     {shell}").format(shell=request.shell or cfg.home.default_shell),
            _("ssh key:   {key}").format(key=key),
            self._home_line(request),
        ]
        if request.temp_password:
            lines.append(_("password:  a temporary one, to change at the first login"))
        if request.env_only:
            lines.append(_("the account exists: only its environment is set up"))
        return lines

    def _home_line(self, request) -> str:
        home = self.cfg.users_dir / request.name
        if (request.layout or self.cfg.home.layout) == "hybrid":
            return _(
                "home:      /home/{name} on the SSD (wiped at reboot); ~/data -> {home}, "
                "dotfiles in {home}/dotfiles"
            ).format(name=request.name, home=home)
        return _("home:      /home/{name} -> {home}").format(name=request.name, home=home)

    def _create(self, request, yes: bool | None) -> None:
        if yes:
            self.call(
                _("creating {name}").format(name=request.name), self._add, request, then=self._done
            )

    def _add(self, request):
        result = self.features.add_user(self.cfg, request, dry_run=False)
        return self.features.handout(self.cfg, result)

    def _done(self, sheet) -> None:
        self.app.switch_screen(HandoutScreen(sheet))


class HandoutScreen(FeatureScreen):
    """What to tell the new user: how to log in, the key, the password, the home."""

    HEADING = _("Handout")

    def __init__(self, sheet) -> None:
        super().__init__()
        self.sheet = sheet  # a features.users.handout.Handout

    def body(self) -> Iterable[Widget]:
        yield TextPanel(id="handout")

    def on_mount(self) -> None:
        super().on_mount()
        lines = list(self.sheet.text)
        for fingerprint in self.sheet.key_fingerprints:
            lines.append(_("Key fingerprint: {fp}").format(fp=fingerprint))
        if self.sheet.private_key:
            lines += ["", self.sheet.private_key]
        lines += ["", _("Esc goes back to the menu.")]
        panel = self.query_one(TextPanel)
        panel.show(lines)
        panel.focus()
        self.status.done(_("{name} is ready.").format(name=self.sheet.name))
