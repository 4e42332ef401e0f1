"""Grading order: the modules in the order students build them (pytest would sort them by name)."""

ORDER = ["test_layers.py", "test_fc_net.py", "test_optim.py", "test_graph.py"]


def pytest_collection_modifyitems(items):
    # A stable sort keeps each module's own test order.
    items.sort(key=lambda item: ORDER.index(item.path.name) if item.path.name in ORDER else len(ORDER))
