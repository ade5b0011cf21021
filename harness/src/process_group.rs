//! Processes the harness starts, and everything they start, ended together: each isolation worker
//! and each external engine run leads a process group of its own ([`in_own_group`]); [`kill_tree`]
//! ends the group and every descendant, also those that made groups of their own (the C backends
//! run the compiler in its own group, so they can kill it on their compile budget). Groups are
//! registered ([`track`]) while they run, so an interrupted `bfjit` ends them all
//! ([`kill_tracked`], called by the signal thread of [`crate::scratch::install`]).
//!
//! Descendants are found in `/proc` by their parent links. To keep those links while killing, the
//! tree is first stopped (SIGSTOP: a stopped process neither forks nor exits), collected until no new
//! member appears, then killed (SIGKILL ends stopped processes too).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::case::ExitInfo;

/// Groups to kill when the run is interrupted (their leaders' pids).
static TRACKED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Makes `command`'s process the leader of a new process group when it starts.
pub fn in_own_group(command: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    command.process_group(0)
}

/// Registers the group led by `leader` to be killed if the run is interrupted.
pub fn track(leader: u32) {
    if let Ok(mut groups) = TRACKED.lock() {
        groups.push(leader);
    }
}

/// Unregisters the group led by `leader` (its processes have ended).
pub fn untrack(leader: u32) {
    if let Ok(mut groups) = TRACKED.lock() {
        groups.retain(|&g| g != leader);
    }
}

/// Kills every tracked group with its descendants.
pub fn kill_tracked() {
    let groups = TRACKED.lock().map(|g| g.clone()).unwrap_or_default();
    for leader in groups {
        kill_tree(leader);
    }
}

fn pid(n: u32) -> Option<Pid> {
    i32::try_from(n).ok().filter(|&n| n > 0).map(Pid::from_raw)
}

/// Kills the process group led by `leader` and every descendant of `leader`, whatever their group
/// (see the module docs). The leader itself is left for its owner to reap.
pub fn kill_tree(leader: u32) {
    let Some(leader_pid) = pid(leader) else {
        return;
    };
    let _ = killpg(leader_pid, Signal::SIGSTOP);
    // Stop the tree until it stops growing, remembering every member.
    let mut members: BTreeSet<i32> = BTreeSet::new();
    for _ in 0..50 {
        let found = tree(leader as i32);
        let new: Vec<&Proc> = found.iter().filter(|p| !members.contains(&p.pid)).collect();
        if new.is_empty() {
            break;
        }
        for p in new {
            if p.pgrp == p.pid {
                let _ = killpg(Pid::from_raw(p.pgrp), Signal::SIGSTOP);
            }
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGSTOP);
            members.insert(p.pid);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let groups: BTreeSet<i32> = processes()
        .into_iter()
        .filter(|p| members.contains(&p.pid) && p.pgrp == p.pid)
        .map(|p| p.pgrp)
        .collect();
    for group in groups {
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    }
    for member in &members {
        let _ = kill(Pid::from_raw(*member), Signal::SIGKILL);
    }
    let _ = killpg(leader_pid, Signal::SIGKILL);
    let _ = kill(leader_pid, Signal::SIGKILL);
}

/// Kills this process's children, each with its whole tree (the C backends' compiler when `bfjit`
/// compiles in-process).
pub fn kill_children() {
    let me = std::process::id() as i32;
    for child in processes().into_iter().filter(|p| p.ppid == me) {
        kill_tree(child.pid as u32);
    }
}

/// The live processes of `leader`'s group and every descendant of `leader`, leader included.
fn tree(leader: i32) -> Vec<Proc> {
    let all = processes();
    let mut inside: BTreeSet<i32> = all
        .iter()
        .filter(|p| p.pid == leader || p.pgrp == leader)
        .map(|p| p.pid)
        .collect();
    loop {
        let before = inside.len();
        for p in &all {
            if inside.contains(&p.ppid) {
                inside.insert(p.pid);
            }
        }
        if inside.len() == before {
            break;
        }
    }
    all.into_iter()
        .filter(|p| inside.contains(&p.pid))
        .collect()
}

/// Whether any process of the group led by `leader`, or any descendant of `leader`, is alive (not a
/// zombie).
pub fn tree_alive(leader: u32) -> bool {
    !tree(leader as i32).is_empty()
}

/// A live process as `/proc/PID/stat` describes it.
#[derive(Clone, Copy, Debug)]
struct Proc {
    pid: i32,
    ppid: i32,
    pgrp: i32,
}

/// Every live (not zombie) process in `/proc` (none where there is no `/proc`).
fn processes() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the command name in parentheses: state, ppid, pgrp, ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let alive = fields
            .first()
            .is_some_and(|&state| state != "Z" && state != "X");
        let number = |i: usize| fields.get(i).and_then(|s| s.parse::<i32>().ok());
        if let (true, Some(ppid), Some(pgrp)) = (alive, number(1), number(2)) {
            found.push(Proc { pid, ppid, pgrp });
        }
    }
    found
}

/// One finished process: its wall time, standard output and exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessRun {
    /// From the spawn to the reaping.
    pub elapsed: Duration,
    /// Everything it wrote to standard output.
    pub stdout: Vec<u8>,
    /// How it ended.
    pub exit: ExitInfo,
}

/// Runs `argv` with `input` on standard input in a group of its own, killing the group with every
/// descendant after `timeout` (the one way the harness runs a command: external engines, timed
/// processes). The clock runs from just before the spawn to the reaping.
pub fn run(argv: &[String], input: &[u8], timeout: Duration) -> ProcessRun {
    let failed = |why: String| ProcessRun {
        elapsed: Duration::ZERO,
        stdout: Vec::new(),
        exit: ExitInfo::SpawnFailed(why),
    };
    let Some((program, args)) = argv.split_first() else {
        return failed("empty command".into());
    };
    let start = Instant::now();
    let mut command = Command::new(program);
    let mut child = match in_own_group(&mut command)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return failed(format!("{program}: {e}")),
    };
    track(child.id());
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    // The command may not read all its input: a write error is not a failure.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (done, finished) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        let _ = done.send(());
        out
    });
    // End of output normally means the process has exited; then the wait is immediate.
    let deadline = start + timeout;
    let _ = finished.recv_timeout(timeout);
    let mut pause = Duration::from_micros(50);
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break ExitInfo::of(status),
            Ok(None) if Instant::now() >= deadline => {
                // The whole group: a shell wrapper's children would keep the output open.
                kill_tree(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break ExitInfo::TimedOut(timeout);
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(2));
            }
            Err(e) => break ExitInfo::SpawnFailed(e.to_string()),
        }
    };
    let elapsed = start.elapsed();
    untrack(child.id());
    let _ = writer.join();
    let stdout = reader.join().unwrap_or_default();
    ProcessRun {
        elapsed,
        stdout,
        exit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn a_killed_tree_leaves_no_process_even_in_other_groups() {
        // The leader starts a child in a group of its own (like the C compiler), which starts a
        // grandchild; all three sleep.
        let script = "setsid sh -c 'sleep 30 & sleep 30' & sleep 30";
        let mut child = in_own_group(
            Command::new("sh")
                .args(["-c", script])
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        )
        .spawn()
        .unwrap();
        let leader = child.id();
        std::thread::sleep(Duration::from_millis(200));
        let members = tree(leader as i32);
        assert!(members.len() >= 4, "{members:?}");
        assert!(
            members.iter().any(|p| p.pgrp != leader as i32),
            "{members:?}"
        );
        kill_tree(leader);
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(50));
        for p in members {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", p.pid)).unwrap_or_default();
            let zombie_or_gone = stat.is_empty()
                || stat
                    .rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            assert!(zombie_or_gone, "{p:?} still runs: {stat}");
        }
        assert!(!tree_alive(leader));
    }
}
