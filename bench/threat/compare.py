#!/usr/bin/env python3
"""Palisade's threat analysis side by side with OWASP pytm's on the same systems.

Run through compare.sh (it builds Palisade and installs pytm); by hand:

    compare.py --palisade PATH/TO/threats --python PATH/TO/venv/python [--runs N] [--out DIR]

1. The web shop of webshop.yaml and webshop_pytm.py (the same system in both): threats per STRIDE
   category for each, and the kinds of threat only one of them raises on an element or flow.
2. A generated model of 200 elements (GENERATED_* below) in both forms: threats, and the wall time
   of each run (median and fastest of --runs), process start included on both sides.

pytm's threats carry no STRIDE category. PYTM_STRIDE maps each of pytm's threat ids to the one
category its description names best (see the table; where a threat fits two, the category of its
outcome wins: an injection that runs the attacker's code is elevation of privilege, one that
changes data or pages is tampering, a "blowup" is denial of service).

Elements and flows are matched by name (the two models use the same names); a pytm response flow
(named "... (response)") is the other direction of a Palisade flow written `bidirectional: true`.
"""

import argparse
import collections
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

STRIDE = [
    ("S", "spoofing", "Spoofing"),
    ("T", "tampering", "Tampering"),
    ("R", "repudiation", "Repudiation"),
    ("I", "information-disclosure", "Information disclosure"),
    ("D", "denial-of-service", "Denial of service"),
    ("E", "elevation-of-privilege", "Elevation of privilege"),
]
LETTER = {name: letter for letter, name, _ in STRIDE}
TITLE = {letter: title for letter, _, title in STRIDE}

# pytm 1.4.0's threat library (pytm/threatlib/threats.json), each id with its description and
# the STRIDE category given to it here.
PYTM_STRIDE = {
    "INP01": "E",  # Buffer Overflow via Environment Variables: runs the attacker's code
    "INP02": "E",  # Overflow Buffers
    "INP03": "E",  # Server Side Include (SSI) Injection: the server executes the directives
    "CR01": "S",  # Session Sidejacking: a stolen token impersonates the victim
    "INP04": "T",  # HTTP Request Splitting
    "CR02": "I",  # Cross Site Tracing: reads cookies and headers
    "INP05": "E",  # Command Line Execution through SQL Injection
    "INP06": "T",  # SQL Injection through SOAP Parameter Tampering
    "SC01": "I",  # JSON Hijacking (aka JavaScript Hijacking): reads another user's data
    "LB01": "T",  # API Manipulation
    "AA01": "S",  # Authentication Abuse/ByPass
    "DS01": "I",  # Excavation: probing for data
    "DE01": "I",  # Interception
    "DE02": "T",  # Double Encoding
    "API01": "E",  # Exploit Test APIs: test interfaces with more rights
    "AC01": "E",  # Privilege Abuse
    "INP07": "E",  # Buffer Manipulation
    "AC02": "T",  # Shared Data Manipulation
    "DO01": "D",  # Flooding
    "HA01": "I",  # Path Traversal: reads files outside the root
    "AC03": "T",  # Subverting Environment Variable Values
    "DO02": "D",  # Excessive Allocation
    "DS02": "I",  # Try All Common Switches: finds hidden functions
    "INP08": "T",  # Format String Injection
    "INP09": "T",  # LDAP Injection
    "INP10": "T",  # Parameter Injection
    "INP11": "I",  # Relative Path Traversal
    "INP12": "E",  # Client-side Injection-induced Buffer Overflow
    "AC04": "T",  # XML Schema Poisoning
    "DO03": "D",  # XML Ping of the Death
    "AC05": "T",  # Content Spoofing: the content is changed, not an identity
    "INP13": "E",  # Command Delimiters: runs commands
    "INP14": "T",  # Input Data Manipulation
    "DE03": "I",  # Sniffing Attacks
    "CR03": "S",  # Dictionary-based Password Attack
    "API02": "T",  # Exploit Script-Based APIs
    "HA02": "I",  # White Box Reverse Engineering
    "DS03": "I",  # Footprinting
    "AC06": "E",  # Using Malicious Files
    "HA03": "I",  # Web Application Fingerprinting
    "SC02": "T",  # XSS Targeting Non-Script Elements
    "AC07": "E",  # Exploiting Incorrectly Configured Access Control Security Levels
    "INP15": "E",  # IMAP/SMTP Command Injection: commands run on the mail server
    "HA04": "I",  # Reverse Engineering
    "SC03": "T",  # Embedding Scripts within Scripts
    "INP16": "E",  # PHP Remote File Inclusion
    "AA02": "S",  # Principal Spoof
    "CR04": "S",  # Session Credential Falsification through Forging
    "DO04": "D",  # XML Entity Expansion
    "DS04": "T",  # XSS Targeting Error Pages
    "SC04": "T",  # XSS Using Alternate Syntax
    "CR05": "I",  # Encryption Brute Forcing: recovers the plaintext
    "AC08": "T",  # Manipulate Registry Information
    "DS05": "I",  # Lifting Sensitive Data Embedded in Cache
    "SC05": "T",  # Removing Important Client Functionality
    "INP17": "T",  # XSS Using MIME Type Mismatch
    "AA03": "S",  # Exploitation of Trusted Credentials
    "AC09": "E",  # Functionality Misuse
    "INP18": "I",  # Fuzzing and observing application log data/errors for application mapping
    "CR06": "T",  # Communication Channel Manipulation
    "AC10": "I",  # Exploiting Incorrectly Configured SSL
    "CR07": "T",  # XML Routing Detour Attacks
    "AA04": "S",  # Exploiting Trust in Client: a forged client is believed
    "CR08": "T",  # Client-Server Protocol Manipulation
    "INP19": "D",  # XML External Entities Blowup
    "INP20": "T",  # iFrame Overlay: the page the user acts on is not the one they see
    "AC11": "S",  # Session Credential Falsification through Manipulation
    "INP21": "D",  # DTD Injection: expansion exhausts the parser
    "INP22": "D",  # XML Attribute Blowup
    "INP23": "T",  # File Content Injection
    "DO05": "D",  # XML Nested Payloads
    "AC12": "E",  # Privilege Escalation
    "AC13": "E",  # Hijacking a privileged process
    "AC14": "E",  # Catching exception throw/signal from privileged block
    "INP24": "E",  # Filter Failure through Buffer Overflow
    "INP25": "T",  # Resource Injection
    "INP26": "E",  # Code Injection
    "INP27": "T",  # XSS Targeting HTML Attributes
    "INP28": "T",  # XSS Targeting URI Placeholders
    "INP29": "T",  # XSS Using Doubled Characters
    "INP30": "T",  # XSS Using Invalid Characters
    "INP31": "E",  # Command Injection
    "INP32": "T",  # XML Injection
    "INP33": "E",  # Remote Code Inclusion
    "INP34": "D",  # SOAP Array Overflow: the service exhausts memory
    "INP35": "T",  # Leverage Alternate Encoding
    "DE04": "R",  # Audit Log Manipulation: the record of who did what is changed
    "AC15": "T",  # Schema Poisoning
    "INP36": "T",  # HTTP Response Smuggling
    "INP37": "T",  # HTTP Request Smuggling
    "INP38": "T",  # DOM-Based XSS
    "AC16": "S",  # Session Credential Falsification through Prediction
    "INP39": "T",  # Reflected XSS
    "INP40": "T",  # Stored XSS
    "AC17": "S",  # Session Hijacking - ServerSide
    "AC18": "S",  # Session Hijacking - ClientSide
    "INP41": "E",  # Argument Injection: options that run other code
    "AC19": "S",  # Reusing Session IDs (aka Session Replay) - ServerSide
    "AC20": "S",  # Reusing Session IDs (aka Session Replay) - ClientSide
    "AC21": "S",  # Cross Site Request Forgery: requests made as the victim
    "DS06": "I",  # Data Leak
    "DR01": "I",  # Unprotected Sensitive Data
    "AC22": "S",  # Credentials Aging: old credentials keep working for whoever holds them
    "AC23": "I",  # Credentials Disclosure
    "AC24": "S",  # Use of hardcoded credentials: anyone with the code is that principal
    "LLM01": "T",  # Direct Prompt Injection
    "LLM02": "T",  # Indirect Prompt Injection via Retrieved Content
    "LLM03": "I",  # Sensitive Data Leakage to Third-Party Provider
    "LLM04": "T",  # Training Data Poisoning
    "LLM05": "E",  # Excessive Agency via Unauthorized Tool Use
    "LLM06": "E",  # Arbitrary Code Execution via LLM Agent
    "LLM07": "E",  # Jailbreaking and Safety Bypass
    "LLM08": "I",  # Sensitive Information Disclosure Through Output
    "LLM09": "E",  # Untrusted Tool Launch Configuration
}

GENERATED_ELEMENTS = 200


def run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p.stdout


def palisade(bin_, model):
    a = json.loads(run([bin_, model]))
    threats = [
        {
            "kind": t["rule"],
            "title": t["title"],
            "stride": LETTER[t["stride"]],
            "target": t["target"]["name"],
        }
        for t in a["threats"]
    ]
    return threats, a


def pytm(python, script, out_dir):
    out = os.path.join(out_dir, os.path.basename(script) + ".json")
    run([python, script, "--json", out], cwd=out_dir)
    with open(out, encoding="utf8") as f:
        d = json.load(f)
    found = []
    found_in = {"elements": len(d["elements"]), "flows": len(d["flows"])}
    for x in d["findings"]:
        sid = x["threat_id"]
        if sid not in PYTM_STRIDE:
            sys.exit(f"pytm threat {sid} ({x['description']}) has no STRIDE category in PYTM_STRIDE")
        found.append(
            {
                "kind": sid,
                "title": x["description"],
                "stride": PYTM_STRIDE[sid],
                "target": x["target"].removesuffix(" (response)"),
            }
        )
    return found, found_in


def timed(cmd, runs, cwd=None):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t)
        if p.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed: {p.stderr.decode()[-2000:]}")
    return statistics.median(times), min(times)


def per_category(threats):
    c = collections.Counter(t["stride"] for t in threats)
    return [c.get(letter, 0) for letter, _, _ in STRIDE]


def print_counts(ours, theirs):
    print(f"  {'threats per STRIDE category':34} {'Palisade':>9} {'pytm':>9}")
    for (letter, _, title), a, b in zip(STRIDE, per_category(ours), per_category(theirs)):
        print(f"  {title:34} {a:9} {b:9}")
    print(f"  {'total':34} {len(ours):9} {len(theirs):9}")


def print_only(label, threats, other):
    """Kinds of threat raised on an element or flow in a STRIDE category the other tool does not
    raise there."""
    covered = {(t["target"], t["stride"]) for t in other}
    kinds = collections.defaultdict(set)
    titles = {}
    for t in threats:
        if (t["target"], t["stride"]) not in covered:
            kinds[(t["stride"], t["kind"])].add(t["target"])
            titles.setdefault(t["kind"], t["title"])
    print(f"  raised only by {label} (no threat of that category on that element or flow from the other):")
    if not kinds:
        print("    none")
    for (stride, kind), targets in sorted(kinds.items(), key=lambda kv: ("STRIDE".index(kv[0][0]), kv[0][1])):
        print(f"    {TITLE[stride]:24} {kind:11} {titles[kind][:60]:60} on {len(targets)}: {', '.join(sorted(targets))[:90]}")


# The generated model.


def generate(n, out_dir):
    """A system of n elements (a tenth external, a quarter data stores, the rest processes) in
    zones, each process calling two others or a store; written as a Palisade model and as a pytm
    script with the same names and controls (the mapping of webshop_pytm.py)."""
    n_ext = n // 10
    n_store = n // 4
    n_proc = n - n_ext - n_store
    zones = 8
    auths = ["password", "token", "mtls", None, "sso"]
    elements = []
    for i in range(n_ext):
        elements.append(("external-entity", f"ext{i}", f"External {i}", "internet" if i % 2 == 0 else "partners", {"human": i % 2 == 0}))
    for i in range(n_proc):
        attrs = {
            "internet_facing": i % 10 == 0,
            "authentication": auths[i % len(auths)],
            "input_validation": i % 3 != 0,
            "output_encoding": i % 4 != 0,
            "parameterized_queries": i % 2 == 0,
            "rate_limiting": i % 5 == 0,
        }
        elements.append(("process", f"svc{i}", f"Service {i}", f"zone{i % zones}", attrs))
    for i in range(n_store):
        elements.append(("data-store", f"db{i}", f"Store {i}", f"zone{i % zones}", {"encryption_at_rest": i % 2 == 0}))
    flows = []
    for i in range(n_ext):
        flows.append((f"in{i}", f"ext{i}", f"svc{(i * 7) % n_proc}", "https" if i % 3 else "http"))
    for i in range(n_proc):
        flows.append((f"call{i}", f"svc{i}", f"svc{(i * 13 + 1) % n_proc}", "grpcs" if i % 2 else "grpc"))
        flows.append((f"store{i}", f"svc{i}", f"db{i % n_store}", "postgres+tls" if i % 3 == 0 else "postgres"))
    flows = [f for f in flows if f[1] != f[2]]

    y = ["version: 1", f"name: Generated ({n} elements)", "assets:", "  customer: { confidentiality: high, integrity: high, pii: true }", "  secrets: { confidentiality: critical, credentials: true }", "boundaries:", "  internet: { name: Internet }", "  partners: { name: Partners }", "  cloud: { name: Cloud }"]
    for z in range(zones):
        y.append(f"  zone{z}: {{ name: Zone {z}, parent: cloud }}")
    y.append("elements:")
    for kind, id_, name, zone, attrs in elements:
        parts = [f"type: {kind}", f'name: "{name}"', f"boundary: {zone}"]
        for k, v in attrs.items():
            if v is None:
                continue
            parts.append(f"{k}: {str(v).lower() if isinstance(v, bool) else v}")
        if kind == "data-store":
            parts.append("data: [customer]")
        y.append(f"  {id_}: {{ {', '.join(parts)} }}")
    y.append("flows:")
    for id_, a, b, proto in flows:
        data = "[customer, secrets]" if id_.startswith("store") and int(id_[5:]) % 4 == 0 else "[customer]"
        y.append(f'  {id_}: {{ from: {a}, to: {b}, name: "Flow {id_}", protocol: {proto}, data: {data} }}')
    model = os.path.join(out_dir, "generated.yaml")
    with open(model, "w", encoding="utf8") as f:
        f.write("\n".join(y) + "\n")

    p = [
        "from pytm import TM, Actor, Boundary, Classification, Data, Dataflow, Datastore, ExternalEntity, Server",
        f'tm = TM("Generated ({n} elements)")',
        "tm.isOrdered = False",
        'internet = Boundary("Internet")',
        'partners = Boundary("Partners")',
        'cloud = Boundary("Cloud")',
        'customer = Data("customer", classification=Classification.SENSITIVE, isPII=True)',
        'secrets = Data("secrets", classification=Classification.TOP_SECRET, isCredentials=True)',
    ]
    for z in range(zones):
        p.append(f'zone{z} = Boundary("Zone {z}")')
        p.append(f"zone{z}.inBoundary = cloud")
    for kind, id_, name, zone, attrs in elements:
        if kind == "external-entity":
            p.append(f'{id_} = {"Actor" if attrs["human"] else "ExternalEntity"}("{name}")')
        elif kind == "process":
            p.append(f'{id_} = Server("{name}")')
            auth = attrs["authentication"] is not None
            for control, on in [
                ("authenticatesSource", auth),
                ("implementsAuthenticationScheme", auth),
                ("validatesInput", attrs["input_validation"]),
                ("sanitizesInput", attrs["input_validation"]),
                ("encodesOutput", attrs["output_encoding"]),
                ("usesParameterizedInput", attrs["parameterized_queries"]),
                ("handlesResourceConsumption", attrs["rate_limiting"]),
            ]:
                if on:
                    p.append(f"{id_}.controls.{control} = True")
        else:
            p.append(f'{id_} = Datastore("{name}")')
            p.append(f"{id_}.storesPII = True")
            if attrs["encryption_at_rest"]:
                p.append(f"{id_}.controls.isEncryptedAtRest = True")
        p.append(f"{id_}.inBoundary = {zone}")
    for id_, a, b, proto in flows:
        data = "[customer, secrets]" if id_.startswith("store") and int(id_[5:]) % 4 == 0 else "[customer]"
        p.append(f'_f = Dataflow({a}, {b}, "Flow {id_}")')
        p.append(f'_f.protocol = "{proto.upper()}"')
        p.append(f"_f.controls.isEncrypted = {proto in ('https', 'grpcs', 'postgres+tls')}")
        p.append(f"_f.data = {data}")
    p += ['if __name__ == "__main__":', "    tm.process()"]
    script = os.path.join(out_dir, "generated_pytm.py")
    with open(script, "w", encoding="utf8") as f:
        f.write("\n".join(p) + "\n")
    return model, script, len(flows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--palisade", required=True, help="the threats example binary")
    ap.add_argument("--python", required=True, help="a Python with pytm installed")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=None, help="directory for the generated files (a temporary one)")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="palisade-threat-bench-")
    os.makedirs(out, exist_ok=True)

    pytm_version = run([args.python, "-c", "import importlib.metadata as m; print(m.version('pytm'))"]).strip()
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}; load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"pytm {pytm_version} ({len(PYTM_STRIDE)} threats in its library); Palisade: the threats example, built-in rules; files in {out}")
    print()

    ours, a = palisade(args.palisade, os.path.join(HERE, "webshop.yaml"))
    theirs, t = pytm(args.python, os.path.join(HERE, "webshop_pytm.py"), out)
    print(
        f"== web shop (webshop.yaml, webshop_pytm.py): {a['elements']} elements, {a['flows']} flows "
        f"(pytm: {t['elements']} and {t['flows']}, responses being flows there); Palisade: {a['rules']} built-in rules"
    )
    print_counts(ours, theirs)
    print_only("pytm", theirs, ours)
    print_only("Palisade", ours, theirs)
    print()

    model, script, n_flows = generate(GENERATED_ELEMENTS, out)
    ours, _ = palisade(args.palisade, model)
    theirs, _ = pytm(args.python, script, out)
    print(f"== generated: {GENERATED_ELEMENTS} elements, {n_flows} flows ({os.path.basename(model)}, {os.path.basename(script)})")
    print_counts(ours, theirs)
    t_ours = timed([args.palisade, model], args.runs)
    json_out = os.path.join(out, "timing.json")
    t_theirs = timed([args.python, script, "--json", json_out], args.runs, cwd=out)
    print(f"  {'wall time, median of ' + str(args.runs):34} {t_ours[0]:8.3f}s {t_theirs[0]:8.3f}s")
    print(f"  {'wall time, fastest':34} {t_ours[1]:8.3f}s {t_theirs[1]:8.3f}s")


if __name__ == "__main__":
    main()
