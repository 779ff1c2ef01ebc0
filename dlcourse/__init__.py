"""dlcourse: every algorithm of the course, from scratch, in numpy."""

__version__ = "0.1.0"
