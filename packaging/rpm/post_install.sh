# keepalived-rs %post: as %systemd_post does, apply the distribution's preset on first install
# (Fedora/RHEL presets leave keepalived disabled until the administrator enables it).
if [ "$1" -eq 1 ] && [ -x /usr/bin/systemctl ]; then
    systemctl --no-reload preset keepalived.service >/dev/null 2>&1 || :
fi
[ -x /usr/bin/systemctl ] && systemctl daemon-reload >/dev/null 2>&1 || :
