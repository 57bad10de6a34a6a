// The CPU this process spent, and that of the children it reaped, in seconds (from process.cpuUsage
// and /proc/self/stat): what the stand-in API front reports of itself, and the replay of its calls.
const fs = require("fs");

/** {self, children}: this process's user + system CPU, and its reaped children's, seconds. */
function cpuSeconds() {
    const own = process.cpuUsage();
    const fields = fs
        .readFileSync("/proc/self/stat", "utf8")
        .replace(/^.*\) /, "")
        .split(" ");
    // After the command: state is field 3, so cutime and cstime (fields 16 and 17) are at 13 and 14 here.
    const hz = 100;
    return { self: (own.user + own.system) / 1e6, children: (Number(fields[13]) + Number(fields[14])) / hz };
}

module.exports = { cpuSeconds };
