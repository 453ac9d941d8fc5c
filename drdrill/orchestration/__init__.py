"""Running a drill: its states, stop conditions, approval, alerts; may import every layer."""
