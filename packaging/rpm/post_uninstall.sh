# keepalived-rs %postun: as %systemd_postun_with_restart does, restart a running daemon after
# an upgrade so the new binary runs. /etc/keepalived/keepalived.conf is never touched.
[ -x /usr/bin/systemctl ] && systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -ge 1 ] && [ -x /usr/bin/systemctl ]; then
    systemctl try-restart keepalived.service >/dev/null 2>&1 || :
fi
