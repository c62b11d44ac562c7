from tests.conftest import post_records, record


def test_it_accepts_one_record(client, ingest_key):
    response = post_records(client, ingest_key, [record()])
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 1}
