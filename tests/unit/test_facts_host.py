"""Host facts read from real command output (DRBD 8.4's /proc/drbd, as the lab's hosts print it)."""
from hastack.facts.host import parse_proc_drbd, replication_problem

# node1 of the lab during `up` (4 VMs), with a resync and a lost peer added as DRBD 8.4 prints them.
PROC_DRBD = """version: 8.4.11 (api:1/proto:86-101)
srcversion: B536C32A3EADA868561EFD9 
 0: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate C r-----
    ns:65496 nr:0 dw:0 dr:65496 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
 1: cs:Connected ro:Secondary/Primary ds:UpToDate/UpToDate C r-----
    ns:0 nr:65496 dw:65496 dr:0 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
 2: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----
    ns:65496 nr:0 dw:0 dr:65496 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:812
\t[=====>..............] sync'ed: 31.2% (812/1048)K
 3: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C r-----
 4: cs:Unconfigured
"""


def test_each_minor_reads_its_connection_roles_and_disks():
    states = parse_proc_drbd(PROC_DRBD)
    assert sorted(states) == [0, 1, 2, 3, 4]
    assert states[1] == {"cs": "Connected", "ro": "Secondary/Primary", "ds": "UpToDate/UpToDate"}
    assert states[4] == {"cs": "Unconfigured"}


def test_only_two_connected_current_copies_count_as_replicated():
    states = parse_proc_drbd(PROC_DRBD)
    assert replication_problem(states, 0) is None and replication_problem(states, 1) is None
    assert replication_problem(states, 2) == "SyncSource UpToDate/Inconsistent"
    assert replication_problem(states, 3) == "WFConnection UpToDate/DUnknown"
    assert replication_problem(states, 4) == "Unconfigured"
    assert replication_problem(states, 9) == "not configured"
