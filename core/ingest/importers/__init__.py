"""Chat importers: JSON lines, ChatGPT exports, LOCOMO files."""
