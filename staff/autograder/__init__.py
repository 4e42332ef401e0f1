"""The autograder: grades a submission in a sandboxed process and writes Gradescope's results.json.

``python -m staff.autograder grade SUBMISSION [--results results.json]`` grades one folder or zip;
``python -m staff.autograder batch DIR --csv scores.csv`` grades a folder of submissions;
:func:`staff.autograder.package.build_autograder_zip` builds the zip uploaded to Gradescope.
"""
