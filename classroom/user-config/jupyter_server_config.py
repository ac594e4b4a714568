"""The hub's Content-Security-Policy on this server's pages too (classroom/hubconfig.py); it allows framing by 'self'."""

from classroom.hubconfig import CONTENT_SECURITY_POLICY

c = get_config()  # noqa: F821  (traitlets provides get_config when the server loads this file)
c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": CONTENT_SECURITY_POLICY}}
