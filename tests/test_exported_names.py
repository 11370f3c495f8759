"""The names ``openconnector`` exports are the documented ones, sorted, and all importable."""

import openconnector


def test_all_is_sorted_and_complete():
    assert openconnector.__all__ == sorted(openconnector.__all__)
    assert set(openconnector.__all__) == {
        "CallService",
        "EndpointService",
        "FileService",
        "MappingService",
        "ObjectService",
        "OpenConnectorError",
        "Settings",
        "SynchronizationService",
    }


def test_every_exported_name_imports():
    for name in openconnector.__all__:
        assert getattr(openconnector, name).__name__ == name
