"""Settings: capture (rate, monitor, the deny lists, redaction), the storage budget, the
model (embedded, a GGUF file or a server, with the GPU offload plan and its reasons),
the ingest schedule, the data directory, who you are, and starting with the desktop.
Saving goes through `Service.update_settings`, which validates with core.settings: a
bad value is refused with its one-line message and nothing is written."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.desktop_entry import autostart_installed, install_autostart, uninstall_autostart
from app.gui.errors import describe
from app.gui.ops import OpContext
from app.gui.store_ops import StoreOps
from core.changes import NO_CHANGES
from core.service import Service
from core.settings import Settings
from gpu.offload_plan import OffloadPlan

MODES = (
    ("Embedded model", "embedded"),
    ("A GGUF file", "gguf"),
    ("An OpenAI-compatible server", "server"),
)
MODELS = ("qwen2.5-coder-0.5b", "smollm2-135m")


def _lines(edit: QPlainTextEdit) -> list[str]:
    return [line.strip() for line in edit.toPlainText().splitlines() if line.strip()]


def _spin(minimum: float, maximum: float, suffix: str, decimals: int = 1) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(minimum=minimum, maximum=maximum, suffix=suffix, decimals=decimals)
    spin.setMaximumWidth(160)
    return spin


class SettingsView(QWidget):
    saved = Signal(object)  # the Settings written, or the error
    plan_shown = Signal(object)  # the OffloadPlan, or the error

    def __init__(
        self, service: Service, store_ops: StoreOps, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.store_ops = store_ops
        # you
        self.user_name = QLineEdit(placeholderText="the name the assistant knows you by")
        # capture
        self.min_interval = _spin(0.2, 600, " s")
        self.max_interval = _spin(0.2, 3600, " s")
        self.monitor = QSpinBox(minimum=0, maximum=16)
        self.monitor.setSpecialValueText("all monitors")
        self.monitor.setMaximumWidth(160)
        self.redact_emails = QCheckBox("Hide email addresses")
        self.redact_phones = QCheckBox("Hide phone numbers")
        self.deny_apps = QPlainTextEdit()
        self.deny_apps.setPlaceholderText("one app (its window class) per line")
        self.deny_titles = QPlainTextEdit()
        self.deny_titles.setPlaceholderText("one regular expression per line")
        for edit in (self.deny_apps, self.deny_titles):
            edit.setFixedHeight(96)
        self.budget = _spin(0.0, 10000, " GB")
        # model
        self.mode = QComboBox()
        for label, value in MODES:
            self.mode.addItem(label, value)
        self.model = QComboBox()
        self.model.addItems(MODELS)
        self.model_path = QLineEdit(placeholderText="/path/to/model.gguf")
        self.browse = QPushButton("Browse…")
        self.base_url = QLineEdit(placeholderText="http://127.0.0.1:8000/v1")
        self.plan_button = QPushButton("Show the GPU offload plan")
        self.plan_label = QLabel(
            "How the model runs on this machine (layers on the GPU, KV cache, context) and why."
        )
        self.plan_label.setWordWrap(True)
        # ingest
        self.ingest_interval = _spin(0, 86400, " s", 0)
        self.ingest_idle = _spin(0, 3600, " s", 0)
        # data and desktop
        self.data_dir = QLabel(str(service.data_dir))
        self.data_dir.setWordWrap(True)
        self.autostart = QCheckBox(
            "Start Rememora in the tray when I log in (capture stays off until you start it)"
        )
        self.save_button = QPushButton("Save settings")
        self.revert_button = QPushButton("Revert")
        self.message = QLabel()
        self.message.setWordWrap(True)

        you = QGroupBox("You")
        you_form = QFormLayout(you)
        you_form.addRow("Your name", self.user_name)
        capture = QGroupBox("Screen capture")
        capture_form = QFormLayout(capture)
        capture_form.addRow("Fastest rate (screen changing)", self.min_interval)
        capture_form.addRow("Slowest rate (screen idle)", self.max_interval)
        capture_form.addRow("Monitor", self.monitor)
        capture_form.addRow("Redaction", self.redact_emails)
        capture_form.addRow("", self.redact_phones)
        capture_form.addRow(
            QLabel("Keys, tokens, passwords, card numbers and IBANs are always hidden.")
        )
        capture_form.addRow("Never capture these apps", self.deny_apps)
        capture_form.addRow("…or windows titled", self.deny_titles)
        capture_form.addRow("Storage budget for frames", self.budget)
        model = QGroupBox("Model")
        model_form = QFormLayout(model)
        model_form.addRow("Run", self.mode)
        model_form.addRow("Embedded model", self.model)
        path_row = QHBoxLayout()
        path_row.addWidget(self.model_path, 1)
        path_row.addWidget(self.browse)
        model_form.addRow("GGUF file", path_row)
        model_form.addRow("Server URL", self.base_url)
        model_form.addRow(self.plan_button, self.plan_label)
        ingest = QGroupBox("Background work")
        ingest_form = QFormLayout(ingest)
        ingest_form.addRow("Look for new events every", self.ingest_interval)
        ingest_form.addRow("…after this long without typing", self.ingest_idle)
        data = QGroupBox("Data")
        data_form = QFormLayout(data)
        data_form.addRow("Data directory", self.data_dir)
        data_form.addRow(
            QLabel(
                "Another directory: start with --data-dir DIR or $REMEMORA_DATA_DIR. Nothing leaves this machine."
            )
        )
        data_form.addRow(self.autostart)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        for group in (you, capture, model, ingest, data):
            body_layout.addWidget(group)
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

        self.mode.currentIndexChanged.connect(lambda _i: self._mode_changed())
        self.browse.clicked.connect(self._browse)
        self.plan_button.clicked.connect(self.show_plan)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(lambda: self.show_settings(self.service.settings))
        self.autostart.toggled.connect(self._autostart)
        self.show_settings(service.settings)

    def show_settings(self, settings: Settings) -> None:
        self.user_name.setText(settings.user.name)
        cap = settings.capture
        self.min_interval.setValue(cap.min_interval_s)
        self.max_interval.setValue(cap.max_interval_s)
        self.monitor.setValue(cap.monitor)
        self.redact_emails.setChecked(cap.redact_emails)
        self.redact_phones.setChecked(cap.redact_phones)
        self.deny_apps.setPlainText("\n".join(cap.deny_apps))
        self.deny_titles.setPlainText("\n".join(cap.deny_titles))
        self.budget.setValue(cap.media_budget_gb)
        llm = settings.llm
        mode = "server" if llm.base_url else "gguf" if llm.model_path else "embedded"
        self.mode.setCurrentIndex(self.mode.findData(mode))
        self.model.setCurrentText(llm.model)
        self.model_path.setText(llm.model_path)
        self.base_url.setText(llm.base_url)
        self.ingest_interval.setValue(settings.ingest.background_interval_s)
        self.ingest_idle.setValue(settings.ingest.idle_s)
        self.autostart.blockSignals(True)
        self.autostart.setChecked(autostart_installed())
        self.autostart.blockSignals(False)
        self._mode_changed()

    def _mode_changed(self) -> None:
        mode = self.mode.currentData()
        self.model.setEnabled(mode == "embedded")
        self.model_path.setEnabled(mode == "gguf")
        self.browse.setEnabled(mode == "gguf")
        self.base_url.setEnabled(mode == "server")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A GGUF model", "", "GGUF models (*.gguf)")
        if path:
            self.model_path.setText(path)

    def changes(self) -> dict[str, dict[str, object]]:
        """What the form says, section by section, as settings.toml keys."""
        mode = self.mode.currentData()
        return {
            "user": {"name": self.user_name.text().strip()},
            "capture": {
                "min_interval_s": self.min_interval.value(),
                "max_interval_s": self.max_interval.value(),
                "monitor": self.monitor.value(),
                "redact_emails": self.redact_emails.isChecked(),
                "redact_phones": self.redact_phones.isChecked(),
                "deny_apps": _lines(self.deny_apps),
                "deny_titles": _lines(self.deny_titles),
                "media_budget_gb": self.budget.value(),
            },
            "llm": {
                "model": self.model.currentText(),
                "model_path": self.model_path.text().strip() if mode == "gguf" else "",
                "base_url": self.base_url.text().strip() if mode == "server" else "",
            },
            "ingest": {
                "background_interval_s": self.ingest_interval.value(),
                "idle_s": self.ingest_idle.value(),
            },
        }

    def save(self) -> None:
        changes = self.changes()

        def work(_context: OpContext) -> Settings:
            return self.service.update_settings(changes)

        def done(settings: Settings) -> None:
            self.message.setStyleSheet("color: #1b7f3b;")
            self.message.setText(
                "Saved to settings.toml. Changes apply the next time Rememora starts."
            )
            self.saved.emit(settings)

        def failed(error: BaseException) -> None:
            self.message.setStyleSheet("color: #b00020;")
            self.message.setText(describe(error))
            self.saved.emit(error)

        self.store_ops.write(work, lambda _s: NO_CHANGES, done, failed)

    def show_plan(self) -> None:
        self.plan_label.setText("Reading the model and this machine…")

        def read(_context: OpContext) -> OffloadPlan:
            return self.service.offload_plan()

        def show(plan: OffloadPlan) -> None:
            self.plan_label.setText(
                "<b>" + plan.summary() + "</b><br>" + "<br>".join(f"• {r}" for r in plan.reasons)
            )
            self.plan_shown.emit(plan)

        def failed(error: BaseException) -> None:
            self.plan_label.setText(describe(error))
            self.plan_shown.emit(error)

        self.store_ops.query(read, show, failed)

    def _autostart(self, on: bool) -> None:
        try:
            if on:
                path = install_autostart()
                self.message.setText(f"Rememora will start in the tray when you log in ({path}).")
            else:
                uninstall_autostart()
                self.message.setText("Rememora will no longer start when you log in.")
        except OSError as error:
            self.message.setText(f"Cannot change the autostart entry: {error}")
