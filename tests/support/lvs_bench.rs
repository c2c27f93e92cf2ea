//! The configuration the LVS benchmarks run (tests/ipvs_bench_vm.rs in the VM,
//! check_reload's host pipeline): 1,000 virtual servers x 10 real servers.
#![allow(dead_code)]

/// The address of virtual server number `v` in [`config`].
pub fn vs_addr(v: u32) -> String {
    format!("10.{}.{}.{}", 100 + v / 65536, (v / 256) % 256, v % 256)
}

pub fn config(checkers: bool, base_port: u16) -> String {
    config_with(checkers, base_port, None)
}

/// [`config`] where real server `r` of virtual server `v` has weight 2 (`bump`).
pub fn config_with(checkers: bool, base_port: u16, bump: Option<(u32, u16)>) -> String {
    let mut c = String::from("global_defs {\n  router_id bench\n}\n");
    for v in 0..1000u32 {
        let addr = vs_addr(v);
        c.push_str(&format!(
            "virtual_server {addr} 80 {{\n  delay_loop 10\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n"
        ));
        for r in 0..10u16 {
            if checkers {
                c.push_str(&format!(
                    "  real_server 127.0.0.1 {} {{\n    TCP_CHECK {{\n      connect_timeout 3\n    }}\n  }}\n",
                    base_port + r
                ));
            } else {
                let weight = if bump == Some((v, r)) {
                    "    weight 2\n"
                } else {
                    ""
                };
                c.push_str(&format!(
                    "  real_server 192.168.{}.{} 8080 {{\n{weight}  }}\n",
                    r,
                    1 + v % 250
                ));
            }
        }
        c.push_str("}\n");
    }
    c
}
