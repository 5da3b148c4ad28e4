"""The PySide6 desktop app. Views call `core.Service` only through ops: reads and short
writes on the one store executor (`store_ops.StoreOps`), ask and ingest as jobs on their
own `ops.OpRunner`; they refresh from the `core.changes.Changes` the ops broadcast."""
