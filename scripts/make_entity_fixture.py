"""Generate fixtures/golden-scenarios.json for rb-001-entity-enrichment.

200 entities, 5 of them breaking entity-v2 (the seed's 195 valid / 5 errors);
the graph API enriches the 195 valid ones. Deterministic: rerunning writes the
same file. Run: .venv/bin/python scripts/make_entity_fixture.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["person", "organization", "location", "vessel", "aircraft", "event"]
BROKEN = {17: "type", 42: "id", 99: "schema_version", 150: "updated_at", 188: "name"}


def entity(i: int) -> dict[str, Any]:
    e: dict[str, Any] = {
        "id": f"ent-{i:08x}",
        "type": TYPES[i % len(TYPES)],
        "name": f"Entity {i}",
        "schema_version": 2,
        "source": {"system": "registry", "record_id": f"R-{1000 + i}"},
        "confidence": round(0.5 + (i % 50) / 100, 2),
        "updated_at": f"2025-11-{1 + i % 28:02d}T08:{i % 60:02d}:00Z",
    }
    broken = BROKEN.get(i)
    if broken == "type":
        e["type"] = "spaceship"
    elif broken == "id":
        e["id"] = f"entity-{i}"
    elif broken == "schema_version":
        e["schema_version"] = 1
    elif broken == "updated_at":
        e["updated_at"] = "yesterday"
    elif broken == "name":
        e["name"] = ""
    return e


def enriched(e: dict[str, Any]) -> dict[str, Any]:
    n = int(e["id"][4:], 16)
    return {
        "id": e["id"],
        "type": e["type"].upper(),
        "name": e["name"],
        "confidence": e["confidence"],
        "resolvedTo": {"id": f"ent-{(n * 7) % 200:08x}", "name": f"Entity {(n * 7) % 200}"},
        "relationships": [{"kind": "RELATED_TO", "targetId": f"ent-{(n + 1) % 200:08x}",
                           "confidence": 0.8}],
        "sources": ["registry"],
    }


def main() -> None:
    entities = [entity(i) for i in range(200)]
    valid = [e for i, e in enumerate(entities) if i not in BROKEN]
    fixture = {
        "runbook": "rb-001-entity-enrichment",
        "description": "Happy path: 200 entities, 5 break entity-v2, 195 are enriched.",
        "secrets": {"API_TOKEN": "fixture-api-token"},
        "facts": {"source_data_validated": True, "api_credentials_valid": True,
                  "entity_schema_v2": True},
        "clock": "2025-11-29T10:00:00Z",
        "seed": 1,
        "http": [
            {
                "step": "ingest",
                "request": {"method": "GET", "url": "http://127.0.0.1:8080/api/v2/entities"
                            "?limit=200&schema_version=2"},
                "response": {"status": 200, "headers": {"content-type": "application/json"},
                             "latency_seconds": 0.35, "json": {"data": {"entities": entities}}},
            },
            {
                "step": "enrich",
                "request": {"method": "POST", "url": "http://127.0.0.1:8080/graphql"},
                "response": {"status": 200, "latency_seconds": 1.2,
                             "json": {"data": {"enrichEntities": [enriched(e) for e in valid]}}},
            },
            {
                "step": "report",
                "request": {"method": "PUT", "url": "http://127.0.0.1:9091/metrics/job/"
                            "entity_enrichment/environment/staging/mode/full"},
                "response": {"status": 200},
            },
        ],
        # The UI step renders these files in the real browser (nothing leaves the machine).
        "pages": "pages/entity-enrichment",
    }
    out = ROOT / "fixtures" / "golden-scenarios.json"
    out.write_text(json.dumps(fixture, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
