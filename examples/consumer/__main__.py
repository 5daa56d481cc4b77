"""Reads a hastack stack's outputs, as a monitoring or application project would.

    pulumi config set hastackStack organization/hastack/lab
"""
import pulumi

config = pulumi.Config()
hastack = pulumi.StackReference(config.require("hastackStack"))

vms = hastack.require_output("vms")
pulumi.export("cluster_name", hastack.require_output("cluster_name"))
pulumi.export("nodes", hastack.require_output("nodes").apply(sorted))
pulumi.export("drbd_minors", vms.apply(lambda v: {name: vm["drbd_minor"] for name, vm in v.items()}))
pulumi.export("postgres_vip", hastack.get_output("guest").apply(lambda g: g and g["vip"]))
