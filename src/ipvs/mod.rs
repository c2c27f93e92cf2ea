//! IPVS: generic-netlink messages (pure), `plan(desired, actual)`, and the netlink driver.
