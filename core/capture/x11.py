"""The screen on X11: pixels through mss, windows through python-xlib (EWMH where a
window manager provides it, the X tree and input focus where none does, as under Xvfb)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.capture.privacy import WindowInfo
from core.errors import ScreenUnavailableError


@dataclass(frozen=True)
class Grab:
    raw_bgra: bytes
    size: tuple[int, int]
    origin: tuple[int, int] = (0, 0)  # the image's top left on the X screen


class ScreenGrabber:
    """mss on one monitor (1..N) or all monitors as one image (0)."""

    def __init__(self, monitor: int = 0, display: str | None = None) -> None:
        import mss

        try:
            self._mss = mss.MSS(display=display) if display else mss.MSS()
            monitors = self._mss.monitors
        except Exception as exc:  # mss raises ScreenShotError and ctypes errors
            raise ScreenUnavailableError(f"cannot open the screen for capture: {exc}") from None
        if monitor >= len(monitors):
            raise ScreenUnavailableError(
                f"capture.monitor = {monitor}, but the screen has {len(monitors) - 1} monitor(s)"
            )
        self._monitor = monitors[monitor]

    def grab(self) -> Grab:
        shot = self._mss.grab(self._monitor)
        return Grab(
            bytes(shot.bgra),
            (shot.width, shot.height),
            (int(self._monitor["left"]), int(self._monitor["top"])),
        )

    def close(self) -> None:
        self._mss.close()


class X11Windows:
    """Active and visible top-level windows: app (WM_CLASS), title, never pixels."""

    def __init__(self, display: str | None = None) -> None:
        from Xlib import X, error
        from Xlib import display as xdisplay

        self._X = X
        self._errors = (error.XError, error.BadWindow, error.BadMatch)
        try:
            self._d = xdisplay.Display(display)
        except Exception as exc:  # Xlib raises DisplayError and OSError
            raise ScreenUnavailableError(f"cannot connect to the X display: {exc}") from None
        self._root = self._d.screen().root
        atom = self._d.intern_atom
        self._active = atom("_NET_ACTIVE_WINDOW")
        self._name = atom("_NET_WM_NAME")
        self._utf8 = atom("UTF8_STRING")
        self._state = atom("_NET_WM_STATE")
        self._hidden = atom("_NET_WM_STATE_HIDDEN")
        self._has_screensaver = bool(self._d.has_extension("MIT-SCREEN-SAVER"))

    def close(self) -> None:
        self._d.close()

    def _info(self, window: Any, frame: Any = None) -> WindowInfo | None:
        """App and title of ``window``; with ``frame`` (its top-level window, decorations
        included) also the box it covers on the screen."""
        try:
            title = ""
            prop = window.get_full_property(self._name, self._utf8)
            if prop is not None and prop.value:
                title = (
                    prop.value.decode("utf-8", "replace")
                    if isinstance(prop.value, bytes)
                    else str(prop.value)
                )
            if not title:
                title = window.get_wm_name() or ""
                title = title.decode("latin-1") if isinstance(title, bytes) else str(title)
            wm_class = window.get_wm_class()
            app = wm_class[1] if wm_class else ""
            box = None
            if frame is not None:
                geometry = frame.get_geometry()  # a child of the root: root coordinates
                border = 2 * geometry.border_width
                box = (geometry.x, geometry.y, geometry.width + border, geometry.height + border)
        except self._errors:
            return None
        if not title and not app:
            return None
        return WindowInfo(app=app, title=title, box=box)

    def _client(self, window: Any) -> Any:
        """The window itself or its first descendant with a WM_CLASS (reparenting WMs)."""
        try:
            if window.get_wm_class() or window.get_wm_name():
                return window
            for child in window.query_tree().children:
                found = self._client(child)
                if found is not None:
                    return found
        except self._errors:
            return None
        return None

    def active(self) -> WindowInfo | None:
        try:
            prop = self._root.get_full_property(self._active, self._X.AnyPropertyType)
            if prop is not None and prop.value and prop.value[0]:
                return self._info(self._d.create_resource_object("window", prop.value[0]))
            focus = self._d.get_input_focus().focus
            if not isinstance(focus, int) and focus != self._root:
                client = self._client(focus)
                if client is not None:
                    return self._info(client)
        except self._errors:
            return None
        visible = self.visible()
        return visible[-1] if visible else None  # topmost in stacking order

    def visible(self) -> list[WindowInfo]:
        """Viewable top-level windows, bottom to top."""
        found: list[WindowInfo] = []
        try:
            children = self._root.query_tree().children
        except self._errors:
            return found
        for window in children:
            try:
                if window.get_attributes().map_state != self._X.IsViewable:
                    continue
                client = self._client(window)
                if client is None:
                    continue
                state = client.get_full_property(self._state, self._X.AnyPropertyType)
                if state is not None and self._hidden in list(state.value):
                    continue
            except self._errors:
                continue
            info = self._info(client, frame=window)
            if info is not None:
                found.append(info)
        return found

    def screen_locked(self) -> bool:
        """True while the X screen saver is on (most lockers run it)."""
        if not self._has_screensaver:
            return False
        from Xlib.ext import screensaver

        try:
            reply = self._root.screensaver_query_info()
        except self._errors:
            return False
        return bool(reply.state == screensaver.StateOn)
