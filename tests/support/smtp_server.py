"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the alert tests.

Prints {"port": N} once listening, then one JSON line per received message with the HELO/EHLO
name, the envelope and the raw DATA content. Exits when stdin closes.
"""
import asyncio
import json
import socket
import sys

from aiosmtpd.smtp import SMTP


class Recorder:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            "helo": session.host_name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("latin-1"),
        }), flush=True)
        return "250 OK queued"


async def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Recorder()), sock=sock)
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    # Run until the test closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


asyncio.run(main())
