//! `keyloom-forge impostor DIR VAULT_ID DEVICE_RECIPIENT`: makes a substitute vault the way an
//! attacker could (passphrase from KEYLOOM_FORGE_PASSPHRASE), for the device-slot attack test.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, cmd, dir, id, recipient] = args.as_slice() else {
        eprintln!("usage: keyloom-forge impostor DIR VAULT_ID DEVICE_RECIPIENT");
        std::process::exit(64);
    };
    if cmd != "impostor" {
        eprintln!("unknown forge {cmd}");
        std::process::exit(64);
    }
    let pass = std::env::var("KEYLOOM_FORGE_PASSPHRASE").unwrap_or_else(|_| "attacker".into());
    if let Err(e) = vault_data::forge::impostor(std::path::Path::new(dir), id, &pass.into(), recipient) {
        eprintln!("forge failed: {e}");
        std::process::exit(1);
    }
}
