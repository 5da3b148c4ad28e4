"""Screen capture: the privacy gate, dedup, OCR off the capture thread, the media store,
the adaptive capture loop and replay of screenshot folders. No Qt here."""
