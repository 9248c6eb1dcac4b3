"""Built-in criteria, registered through the same `cxplan_criteria` hook as plugins."""
