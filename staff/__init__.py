"""Staff tools: the release build, the autograder and Gradescope packaging (never shipped)."""
