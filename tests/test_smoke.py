"""The project boots: settings load and the home page answers."""

import pytest


@pytest.mark.django_db
def test_home_page_answers(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Lend $25" in response.content
