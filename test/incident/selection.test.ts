import { strict as assert } from "assert";
import { SelectingWorkspace, selectAgain, selectionBefore } from "../../components/tools/incident/selection";

/** A workspace whose selection the test sees; `failSelect` makes selecting fail. */
function workspace(selected: string | undefined, failSelect = false) {
    const calls: string[] = [];
    const ws = {
        calls,
        stack: () => Promise.resolve(selected === undefined ? undefined : { name: selected }),
        selectStack: (name: string) => {
            calls.push(`select ${name}`);
            if (failSelect) return Promise.reject(new Error("the backend is gone\nmore"));
            selected = name;
            return Promise.resolve();
        },
        get selected() {
            return selected;
        },
    };
    return ws as typeof ws & SelectingWorkspace;
}

describe("incident: the operator's stack selection is given back", () => {
    it("the stack selected before the run is selected again after it; none or the same one is left alone", async () => {
        const said: string[] = [];
        const other = workspace("prod");
        const before = await selectionBefore(other);
        await other.selectStack("incident-01"); // what the Automation API does to run on the stack
        await selectAgain(other, before, "incident-01", (t) => said.push(t));
        assert.equal(other.selected, "prod");
        assert.deepEqual(other.calls, ["select incident-01", "select prod"]);

        const same = workspace("incident-01");
        await selectAgain(same, await selectionBefore(same), "incident-01", (t) => said.push(t));
        const none = workspace(undefined);
        await selectAgain(none, await selectionBefore(none), "incident-01", (t) => said.push(t));
        assert.deepEqual([...same.calls, ...none.calls], [], "nothing to give back");
        assert.deepEqual(said, []);
    });

    it("a workspace that cannot say what is selected gives nothing back; a selection that fails is said with the command, never thrown", async () => {
        const blind = {
            stack: () => Promise.reject(new Error("no backend")),
            selectStack: () => Promise.resolve(),
        } as unknown as SelectingWorkspace;
        assert.equal(await selectionBefore(blind), undefined);
        const said: string[] = [];
        const failing = workspace("prod", true);
        await selectAgain(failing, "prod", "incident-01", (t) => said.push(t));
        assert.deepEqual(said, [
            "stack prod was selected before this run and could not be selected again (the backend is gone); to do it: pulumi stack select prod",
        ]);
    });
});
