"""SystemAccount as a Pulumi resource: the adapter of hastack.resources.system_account."""
from hastack.resources import system_account
from providers.base import host_resource

SystemAccountProvider, SystemAccount = host_resource("SystemAccount", system_account, __name__)
