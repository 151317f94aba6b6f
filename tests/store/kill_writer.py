"""Writer process for test_kill.py: streams utterances into a Store until it is killed.

Usage: python kill_writer.py DB CALL_ID ROUND.  On start it closes calls left open
by a killed predecessor and resumes CALL_ID; then two tasks (agent and caller)
add utterances as fast as the store commits them.  ``ok <utterance_id>`` is
printed only after ``add_utterance`` has returned, i.e. after the commit.
"""

from __future__ import annotations

import asyncio
import sys
import time

from assist.store.db import Store


async def main(db: str, call_id: str, round_no: str) -> None:
    store = await Store.open(db)
    interrupted = await store.mark_open_calls_interrupted()
    resumed = await store.start_call(call_id, "agent-7", time.time())
    print(f"ready interrupted={','.join(interrupted)} resumed={resumed}", flush=True)

    async def talk(role: str) -> None:
        i = 0
        while True:
            uid = f"r{round_no}-{role}-{i}"
            text = f"第{i}句 我的电话是 幺 三 八 幺 二 三 四 五 六 七 八 请 回 电"
            await store.add_utterance(call_id, role, uid, text, i * 1.0, i * 1.0 + 0.8)
            print(f"ok {uid}", flush=True)
            i += 1

    await asyncio.gather(talk("agent"), talk("caller"))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
