def test_smoke(browser, dcat):
    r = browser.post("/endpoints", {"name": "Datasets", "endpoint": "datasets", "method": "GET", "targetType": "register/schema", "targetId": "dcat/dataset"})
    assert r.status_code == 303, r.text
    loc = r.headers["location"]
    page = browser.get(loc)
    assert page.status_code == 200, page.text
    assert "Public: this endpoint" in page.text
    ref = loc.split("?")[0].rsplit("/", 1)[1]
    tried = browser.post(f"/endpoints/{ref}/try", {"try_method": "GET", "try_path": "datasets", "try_headers": "", "try_body": ""})
    assert tried.status_code == 200, tried.text
    assert "&#34;count&#34;: 0" in tried.text or '"count": 0' in tried.text, tried.text[-3000:]
    r = browser.post("/rules", {"name": "Key", "type": "authentication", "configuration": '{"authentication": {"type": "apikey", "keys": ["k1"]}}'})
    assert r.status_code == 303, r.text
    rule_page = browser.get(r.headers["location"])
    assert "k1" not in rule_page.text
    rref = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    r = browser.post(f"/rules/{rref}", {"name": "Key", "type": "authentication", "timing": "before", "order": "1", "conditions": "", "configuration": rule_page.text and '{"authentication": {"type": "apikey", "keys": ["********"]}}', "description": ""})
    assert r.status_code == 303, r.text
    r = browser.post("/consumers", {"name": "C", "authorizationType": "apiKey", "description": ""})
    assert r.status_code == 303, r.text
    cref = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    r = browser.post(f"/consumers/{cref}", {"name": "C", "authorizationType": "apiKey", "authorizationConfiguration.key": "secret-1", "authorizationConfiguration.username": "", "authorizationConfiguration.password": "", "authorizationConfiguration.publicKey": "", "authorizationConfiguration.algorithm": "", "domains": "", "ips": "", "description": ""})
    assert r.status_code == 303, r.text
    assert "secret-1" not in browser.get(f"/consumers/{cref}").text
    for p in ("/endpoints", "/rules", "/consumers"):
        assert browser.get(p).status_code == 200
