# keepalived-rs %preun: as %systemd_preun does, stop and disable the service on erase only
# (not on upgrade).
if [ "$1" -eq 0 ] && [ -x /usr/bin/systemctl ]; then
    systemctl --no-reload disable --now keepalived.service >/dev/null 2>&1 || :
fi
