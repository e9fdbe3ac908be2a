/// The guest's /init: a busybox shell script. It mounts the pseudo file
/// systems, loads the modules, reserves hugepages, binds the lab NICs,
/// runs the command and reports its status between markers that dp-lab
/// reads from the serial console, then powers the guest off.
///
/// What changes per run (command, NICs, access, hugepages) lives in
/// /lab/run.conf and /lab/command.sh, in a small archive appended to the
/// cached initramfs, so the big archive is built only when files change.
public enum InitScript {
    /// Printed by /init once it runs: kernel messages before it stay hidden.
    public static let startedMarker = "@@DP-LAB-INIT"
    /// Printed just before the command starts.
    public static let readyMarker = "@@DP-LAB-READY"
    /// Followed by the command's exit status.
    public static let exitMarker = "@@DP-LAB-EXIT "

    public static let text = """
        #!/bin/busybox sh
        # Guest /init written by dp-lab (Tools/lab/LabKit/InitScript.swift).
        /bin/busybox mkdir -p /proc /sys /dev /tmp /run /root
        # The rootfs root starts world-writable; DPDK refuses plugin paths under such a directory.
        /bin/busybox chmod 755 /
        /bin/busybox mount -t proc proc /proc
        /bin/busybox mount -t sysfs sysfs /sys
        /bin/busybox mount -t devtmpfs devtmpfs /dev
        /bin/busybox mount -t tmpfs tmpfs /tmp
        /bin/busybox --install -s /bin
        export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
        echo "\(startedMarker)"
        . /lab/run.conf
        for module in $LAB_MODULES; do
          insmod "/modules/$module" || echo "dp-lab guest: insmod $module failed"
        done
        mkdir -p /dev/hugepages
        mount -t hugetlbfs nodev /dev/hugepages
        echo "$LAB_HUGEPAGES" > /proc/sys/vm/nr_hugepages
        got=$(cat /proc/sys/vm/nr_hugepages)
        [ "$got" = "$LAB_HUGEPAGES" ] || echo "dp-lab guest: asked for $LAB_HUGEPAGES hugepages, got $got"
        ip link set lo up
        if [ -n "$LAB_DRIVER" ] && [ -n "$LAB_NICS" ]; then
          dp-devbind bind --driver "$LAB_DRIVER" $LAB_NICS || echo "dp-lab guest: binding $LAB_NICS to $LAB_DRIVER failed"
        fi
        echo "\(readyMarker)"
        cd /root
        # The guest bounds itself too, in case dp-lab is killed and cannot stop QEMU.
        timeout -s KILL "$LAB_TIMEOUT" sh /lab/command.sh
        echo "\(exitMarker)$?"
        sync
        poweroff -f
        """

    /// /lab/run.conf for one run. `modules` are paths under /modules.
    public static func runConfiguration(
        modules: [String], hugepages: Int, access: LabAccess, nics: [LabNIC], timeoutSeconds: Int = 3600
    ) -> String {
        """
        LAB_MODULES=\(shellQuote(modules.joined(separator: " ")))
        LAB_TIMEOUT=\(timeoutSeconds)
        LAB_HUGEPAGES=\(hugepages)
        LAB_DRIVER=\(shellQuote(access.kernelDriver ?? ""))
        LAB_NICS=\(shellQuote(nics.map(\.guestAddress).joined(separator: " ")))

        """
    }

    /// /lab/command.sh: one argument is a shell command line as written
    /// (`-- 'a | b'`); several are one command with each argument quoted.
    public static func commandScript(_ command: [String]) -> String {
        let line = command.count == 1 ? command[0] : command.map(shellQuote).joined(separator: " ")
        return line + "\n"
    }

    public static func shellQuote(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}
