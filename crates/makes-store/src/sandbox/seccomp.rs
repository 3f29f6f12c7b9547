//! The sandbox's seccomp filter, as Nix's `setupSeccomp` (src/libstore/unix/build/
//! local-derivation-goal.cc) sets it up: a build may not make setuid or setgid files
//! (`chmod`, `fchmod`, `fchmodat`, `fchmodat2` with `S_ISUID` or `S_ISGID` fail with `EPERM`)
//! nor set extended attributes (`setxattr`, `lsetxattr`, `fsetxattr` fail with `ENOTSUP`:
//! they could carry ACLs or file capabilities). Everything else is allowed.
//!
//! The program is classic BPF written out here rather than through a library: it is a dozen
//! instructions, and it must also cover the 32-bit x86 ABI (which a 64-bit process reaches
//! with `int 0x80`) and refuse the x32 ABI, which the seccomp crates do not do for us.
//! It is built before `fork`; installing it is one `prctl`.

use libc::sock_filter;

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const BPF_JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

/// Offsets in `struct seccomp_data`: the syscall number, the audit architecture, and the low
/// 32 bits of argument `n` (little-endian; a `mode_t` fits in them).
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const fn data_arg_low(n: u32) -> u32 {
    16 + 8 * n
}

/// The setuid and setgid bits a mode may not carry.
const SET_ID_BITS: u32 = 0o6000; // S_ISUID | S_ISGID

/// The syscalls the filter looks at, for one ABI.
struct Abi {
    audit_arch: u32,
    /// Syscall numbers at or above this are refused (x32 on x86_64), if any.
    refuse_from: Option<u32>,
    /// `(syscall, index of its mode argument)`.
    chmods: &'static [(u32, u32)],
    setxattrs: &'static [u32],
}

/// `fchmodat2` has the same number on every architecture.
const NR_FCHMODAT2: u32 = 452;

#[cfg(target_arch = "x86_64")]
const ABIS: &[Abi] = &[
    Abi {
        audit_arch: 0xC000_003E,        // AUDIT_ARCH_X86_64
        refuse_from: Some(0x4000_0000), // __X32_SYSCALL_BIT
        chmods: &[(90, 1), (91, 1), (268, 2), (NR_FCHMODAT2, 2)],
        setxattrs: &[188, 189, 190],
    },
    Abi {
        audit_arch: 0x4000_0003, // AUDIT_ARCH_I386
        refuse_from: None,
        chmods: &[(15, 1), (94, 1), (306, 2), (NR_FCHMODAT2, 2)],
        setxattrs: &[226, 227, 228],
    },
];

#[cfg(target_arch = "aarch64")]
const ABIS: &[Abi] = &[Abi {
    audit_arch: 0xC000_00B7, // AUDIT_ARCH_AARCH64
    refuse_from: None,
    chmods: &[(52, 1), (53, 2), (NR_FCHMODAT2, 2)],
    setxattrs: &[5, 6, 7],
}];

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ABIS: &[Abi] = &[];

/// One instruction of the program before its jumps are resolved.
#[derive(Clone, Copy)]
enum Insn {
    Load(u32),
    /// Jump to the label if the accumulator equals `k`, else fall through.
    JumpIfEq(u32, usize),
    JumpIfGe(u32, usize),
    JumpIfAnyBit(u32, usize),
    Return(u32),
    Label(usize),
}

/// The filter program, ready to install.
pub(crate) struct Filter {
    program: Vec<sock_filter>,
}

impl Filter {
    /// Builds the program for the architectures this build of makes knows.
    pub(crate) fn new() -> Filter {
        let mut insns = Vec::new();
        let kill = 0;
        let eperm = 1;
        let enotsup = 2;
        let mut next_label = 3;
        let mut label = || {
            next_label += 1;
            next_label
        };
        let abi_labels: Vec<usize> = ABIS.iter().map(|_| label()).collect();
        insns.push(Insn::Load(DATA_ARCH));
        for (abi, &start) in ABIS.iter().zip(&abi_labels) {
            insns.push(Insn::JumpIfEq(abi.audit_arch, start));
        }
        // An architecture the filter does not know could bypass it.
        insns.push(Insn::Return(SECCOMP_RET_KILL_PROCESS));
        for (abi, &start) in ABIS.iter().zip(&abi_labels) {
            insns.push(Insn::Label(start));
            insns.push(Insn::Load(DATA_NR));
            if let Some(limit) = abi.refuse_from {
                insns.push(Insn::JumpIfGe(limit, kill));
            }
            let mut mode_checks = Vec::new();
            for &(nr, arg) in abi.chmods {
                let check = label();
                insns.push(Insn::JumpIfEq(nr, check));
                mode_checks.push((check, arg));
            }
            for &nr in abi.setxattrs {
                insns.push(Insn::JumpIfEq(nr, enotsup));
            }
            insns.push(Insn::Return(SECCOMP_RET_ALLOW));
            for (check, arg) in mode_checks {
                insns.push(Insn::Label(check));
                insns.push(Insn::Load(data_arg_low(arg)));
                insns.push(Insn::JumpIfAnyBit(SET_ID_BITS, eperm));
                insns.push(Insn::Return(SECCOMP_RET_ALLOW));
            }
        }
        insns.push(Insn::Label(kill));
        insns.push(Insn::Return(SECCOMP_RET_KILL_PROCESS));
        insns.push(Insn::Label(eperm));
        insns.push(Insn::Return(SECCOMP_RET_ERRNO | libc::EPERM as u32));
        insns.push(Insn::Label(enotsup));
        insns.push(Insn::Return(SECCOMP_RET_ERRNO | libc::ENOTSUP as u32));
        Filter {
            program: assemble(&insns),
        }
    }

    /// Installs the filter on the calling thread. `PR_SET_NO_NEW_PRIVS` must be set already.
    /// Makes one system call: safe between `fork` and `exec`.
    pub(crate) fn install(&self) -> Result<(), rustix::io::Errno> {
        let prog = libc::sock_fprog {
            // The program is a few dozen instructions (see `new`).
            len: self.program.len() as u16,
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points to a valid program that outlives the call; the kernel copies
        // it.
        let r = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                &prog as *const libc::sock_fprog,
                0,
                0,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(rustix::io::Errno::from_raw_os_error(
                std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EINVAL),
            ))
        }
    }
}

/// Resolves labels into the relative jump offsets of classic BPF.
fn assemble(insns: &[Insn]) -> Vec<sock_filter> {
    let mut at = std::collections::HashMap::new();
    let mut pc = 0usize;
    for insn in insns {
        match insn {
            Insn::Label(l) => {
                at.insert(*l, pc);
            }
            _ => pc += 1,
        }
    }
    let mut out = Vec::with_capacity(pc);
    let offset = |from: usize, label: &usize| -> u8 {
        // Every label is defined above and lies after its jump, within a few dozen
        // instructions (the program is far shorter than 255).
        let target = at.get(label).copied().unwrap_or(from + 1);
        u8::try_from(target.saturating_sub(from + 1)).unwrap_or(u8::MAX)
    };
    let insn = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    for i in insns {
        let pc = out.len();
        out.push(match *i {
            Insn::Label(_) => continue,
            Insn::Load(k) => insn(BPF_LD_W_ABS, 0, 0, k),
            Insn::JumpIfEq(k, l) => insn(BPF_JEQ_K, offset(pc, &l), 0, k),
            Insn::JumpIfGe(k, l) => insn(BPF_JGE_K, offset(pc, &l), 0, k),
            Insn::JumpIfAnyBit(k, l) => insn(BPF_JSET_K, offset(pc, &l), 0, k),
            Insn::Return(k) => insn(BPF_RET_K, 0, 0, k),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    #[test]
    fn every_jump_lands_inside_the_program_and_every_path_returns() {
        let program = Filter::new().program;
        assert!(program.len() < 64, "{}", program.len());
        for (pc, i) in program.iter().enumerate() {
            if i.code & 0x07 == libc::BPF_JMP as u16 {
                assert!(pc + 1 + (i.jt as usize) < program.len());
                assert!(pc + 1 + (i.jf as usize) < program.len());
            }
        }
        assert_eq!(
            program.last().map(|i| i.code),
            Some(BPF_RET_K),
            "the program ends with a return"
        );
    }

    /// Runs `chmod MODE FILE` with the filter installed; returns whether it succeeded.
    fn filtered_chmod(mode: &str, file: &std::path::Path) -> bool {
        let filter = Filter::new();
        let mut cmd = std::process::Command::new("chmod");
        cmd.arg(mode).arg(file);
        // SAFETY: prctl is async-signal-safe; the filter was built before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                filter.install().map_err(std::io::Error::from)
            });
        }
        cmd.stderr(std::process::Stdio::null())
            .status()
            .expect("chmod runs")
            .success()
    }

    #[test]
    fn setuid_and_setgid_modes_are_refused_others_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").expect("write");
        let mode = || std::fs::metadata(&file).expect("stat").permissions().mode() & 0o7777;
        assert!(filtered_chmod("0755", &file));
        assert_eq!(mode(), 0o755);
        for bad in ["4755", "2755", "u+s", "g+s"] {
            assert!(!filtered_chmod(bad, &file), "{bad}");
            assert_eq!(mode(), 0o755, "{bad}");
        }
        assert!(filtered_chmod("1755", &file), "the sticky bit is fine");
    }
}
