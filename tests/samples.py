"""Sample inputs the tests share: valid form posts and API bodies, records that the engine pairs, hostile values
and the files an import reads (IATI XML, CSV rows)."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

# A delegate's valid need form, and a partner's valid offering form.
NEED_FORM = {
    "title": "Draft a law on electronic signatures",
    "description": "Our courts do not accept electronically signed contracts; we need a modern law and training.",
    "language": "fr",
    "policy_areas": ["e_transactions", "consumer_protection"],
    "support_kinds": ["legal_advice"],
    "delivery_languages": ["fr"],
    "beneficiaries": ["regulators"],
    "priority": "high",
    "start_date": "2027-01-10",
    "end_date": "2027-12-31",
}
OFFERING_FORM = {
    "title": "Cybercrime legislation and electronic evidence",
    "description": "Advice on aligning cybercrime laws with international standards, and training for judges.",
    "language": "en",
    "policy_areas": ["cybersecurity"],
    "support_kinds": ["legal_advice", "training"],
    "delivery_languages": ["en", "fr"],
    "beneficiaries": ["law_enforcement"],
    "eligibility": "regions",
    "eligible_regions": ["africa", "caribbean"],
    "capacity": "4",
    "deadline": (date.today() + timedelta(days=90)).isoformat(),
    "contact_name": "Jane Doe",
    "contact_email": "Jane.Doe@Example.org",
}

# Valid API bodies.
API_OFFERING = {
    "title": "E-signature law drafting support",
    "description": "Advice on drafting electronic signature and transactions laws, with training for regulators.",
    "language": "en",
    "policy_areas": ["e_transactions"],
    "support_kinds": ["legal_advice"],
    "delivery_languages": ["en", "fr"],
}
API_NEED = {
    "title": "Consumer protection online",
    "description": "We need a review of our consumer protection law for online purchases and training of staff.",
    "language": "fr",
    "policy_areas": ["consumer_protection"],
    "support_kinds": ["legal_advice", "training"],
    "delivery_languages": ["fr"],
}

# Needs and offerings the engine pairs (signatures), and one it does not pair with them (payments).
SIGNATURE_NEED = dict(
    title="Electronic signatures for online contracts",
    description="Our courts do not recognise electronic signatures and online contracts. We need a law on "
                "electronic transactions and signatures, and training for judges.",
    policy_areas=["e_transactions"], support_kinds=["legal_advice"], delivery_languages=["en", "fr"])
SIGNATURE_OFFERING = dict(
    title="Model laws on electronic signatures and electronic transactions",
    description="Legislative advice to adopt laws on electronic transactions, electronic signatures and online "
                "contracts, with training for judges and lawyers.",
    policy_areas=["e_transactions"], support_kinds=["legal_advice", "training"], delivery_languages=["en", "fr"])
PAYMENT_OFFERING = dict(
    title="Mobile money and fast payment systems",
    description="Support to central banks for mobile money regulation, interoperable fast payments and "
                "merchant payment acceptance.",
    policy_areas=["payments"], support_kinds=["technical_assistance"], delivery_languages=["en"])

HOSTILE_VALUES = [
    "",
    " " * 50,
    "x" * 20000,
    "nul \x00 inside",
    "\x07bell\x1b[31m",
    "<script>alert(1)</script>",
    "' OR 1=1; DROP TABLE needs; --",
    "{{ 7*7 }}",
    "😀" * 300,
    "\u202e\u200b right-to-left override",
]


def mutations_of(valid: dict):
    """Each field replaced in turn by each hostile value, plus wrong types and unknown choices."""
    for key in valid:
        for value in HOSTILE_VALUES:
            yield key, dict(valid, **{key: value})
        yield key, {k: v for k, v in valid.items() if k != key}
        yield key, dict(valid, **{key: ["a", "b", "c"]})
    yield "unknown choice", dict(valid, language="xx")
    yield "unknown area", dict(valid, policy_areas=["e_transactions", "teleportation"])
    yield "number as text", dict(valid, capacity="many")
    yield "negative", dict(valid, capacity="-3")
    yield "huge number", dict(valid, capacity="99999999999999999999")
    yield "bad date", dict(valid, start_date="2027-02-31", deadline="31/12/2027")


def iati_activity(identifier="XM-DAC-41301-EC-001", status="2", title_en="Digital trade facilitation programme",
                  extra="", sectors='<sector vocabulary="1" code="33120" percentage="60"/>'
                                    '<sector vocabulary="1" code="15130" percentage="40"/>',
                  recipients='<recipient-region code="289" vocabulary="1" percentage="100"/>') -> str:
    return f"""
  <iati-activity last-updated-datetime="2026-01-10T09:00:00Z" xml:lang="en" default-currency="USD">
    <iati-identifier>{identifier}</iati-identifier>
    <reporting-org ref="XM-DAC-41301" type="40"><narrative>Food and Agriculture Organization</narrative></reporting-org>
    <title><narrative>{title_en}</narrative>
      <narrative xml:lang="fr">Programme de facilitation du commerce numérique</narrative></title>
    <description type="1">
      <narrative>Support to customs and trade ministries for paperless trade and electronic single windows.</narrative>
      <narrative xml:lang="fr">Appui aux douanes et aux ministères du commerce pour le commerce sans papier.</narrative>
    </description>
    <participating-org role="4" type="40"><narrative>FAO</narrative></participating-org>
    <activity-status code="{status}"/>
    <activity-date type="1" iso-date="2026-02-01"/>
    <activity-date type="2" iso-date="2026-03-01"/>
    <activity-date type="3" iso-date="2028-12-31"/>
    <contact-info type="1"><person-name><narrative>Ana Ruiz</narrative></person-name>
      <email>ana.ruiz@example.org</email></contact-info>
    {recipients}
    {sectors}
    {extra}
  </iati-activity>"""


def iati_file(*activities: str, version: str = "2.03") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="{version}" '
            f'generated-datetime="2026-01-10T09:00:00Z">{"".join(activities)}\n</iati-activities>').encode()


CSV_HEADER = "title,description,language,policy_areas,support_kinds,delivery_languages\n"
CSV_DESCRIPTION = "Training for customs officers on processing small parcels from cross-border e-commerce."


def csv_row(title: str, areas: str = "trade_logistics", description: str = CSV_DESCRIPTION) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([title, description, "en", areas, "training", "en;fr"])
    return out.getvalue()
