"""Every limit the server enforces, in one place, each with its reason.

Tests exercise each at the limit and one past it (tests/server/test_limits.py).
"""

from __future__ import annotations

# --- people -------------------------------------------------------------------------------
# The research's largest group is a whole class, 20-40 students; one leader on top.
MAX_MEMBERS_PER_SESSION = 40
# Observers in one session (the seed's practice had two; a supervisor or a trainee more).
MAX_OBSERVERS = 4
# Co-counselors a session's owner may add (each leads with their own login).
MAX_CO_LEADERS = 3
# Shown on every tile and in the roster; long enough for two full Indonesian names.
MAX_DISPLAY_NAME_CHARS = 40
# People waiting at once in the lobby: a class plus latecomers, and a bound on a flood.
MAX_WAITING = 60

# --- HTTP -----------------------------------------------------------------------------------
# A join or offer body: an SDP offer with three m-lines and many candidates is ~10 KB.
MAX_HTTP_BODY_BYTES = 64 * 1024
MAX_SESSION_PASSWORD_CHARS = 128
# The page to return to after login: our own paths are short; a long one is someone's trick.
MAX_NEXT_CHARS = 2000
# Wrong session passwords for one session before a pause: 5 per name typed from one address
# (one student mistyping), 30 per address (a whole class behind one school NAT, which one
# student's mistakes must not block); guessing a password read aloud in class stays far slower
# than the session lasts.
JOIN_PASSWORD_FAILURES = 5
JOIN_PASSWORD_FAILURES_PER_ADDRESS = 30
JOIN_PASSWORD_WINDOW_S = 300.0
# Unknown session codes one address may ask for per minute (server/sessions/code_guard.py). A
# code has 25^6 (about 244 million) values: at 20 a minute, finding a session among a school's
# few dozen takes years. A class behind one NAT mistypes far fewer than 20 in a minute.
UNKNOWN_CODES_PER_ADDRESS = 20
UNKNOWN_CODES_WINDOW_S = 60.0
# Joins one address may make to one session per JOIN_WINDOW_S, and how many of its entries may
# wait in the lobby at once. A class of 40 behind one school NAT joins within a minute or two
# (40 joins, 40 waiting); a script refilling a lobby it keeps full hits both.
JOINS_PER_ADDRESS = 60
JOIN_WINDOW_S = 60.0
MAX_WAITING_PER_ADDRESS = 45

# --- the control data channel -----------------------------------------------------------------
# Largest message a client may send: an SDP answer with every subscription of a 41-person room
# (~120 m-lines) stays under this. Bigger messages are refused before decoding (aiortc does not
# enforce its advertised max-message-size on receive).
MAX_CONTROL_MESSAGE_BYTES = 256 * 1024
# Messages a participant may send: a steady rate and a burst (a chat line, a hand, a mute,
# an SDP answer). Past it a message gets the "rate_limited" error and is dropped.
CONTROL_RATE_PER_SECOND = 10.0
CONTROL_BURST = 30
# Answers to the server's offers and pongs to its pings: bounded by what the server sends, so a
# bucket of their own (found by bench/soak.py: a refused answer stalled renegotiation for good).
CONTROL_REPLY_RATE_PER_SECOND = 20.0
CONTROL_REPLY_BURST = 60
# Chat: a few sentences; the in-memory history kept for people who reconnect.
MAX_CHAT_CHARS = 1000
CHAT_HISTORY_MESSAGES = 200
# The leader's note on one member, and each answer of the closing evaluation.
MAX_NOTE_CHARS = 4000
MAX_EVALUATION_ANSWER_CHARS = 1000
# The leader's optional note to a denied person.
MAX_DENY_MESSAGE_CHARS = 200

# --- tokens and time ------------------------------------------------------------------------------
# A participant token only has to live from the join POST to the offer POST.
PARTICIPANT_TOKEN_TTL_S = 120.0
# A dropped participant may come back without a new admission within this grace period.
RECONNECT_GRACE_S = 60.0
# A join that sends no offer is gone after this (its name freed, nobody told): a browser sends
# its offer at once; a script that only POSTs joins does not. With an offer, ICE_DEADLINE_S.
CONNECT_DEADLINE_S = 20.0
# A peer connection whose ICE and DTLS have not completed this long after its offer is closed
# and its sockets freed (a reconnection that never connects, a client that stops half-way).
ICE_DEADLINE_S = 30.0
# Heartbeat: a ping every few seconds; a peer silent this long is shown as gone.
HEARTBEAT_INTERVAL_S = 3.0
HEARTBEAT_TIMEOUT_S = 10.0
# How often audio levels go to the clients for the active-speaker highlight.
LEVELS_INTERVAL_S = 0.25
# A page reports at most one tile per other participant's camera and screen.
MAX_VIEW_TILES = 2 * (MAX_MEMBERS_PER_SESSION + 1 + MAX_CO_LEADERS)
# A tile's size in device pixels: an 8K screen at most.
MAX_TILE_PIXELS = 8192
# The data saver's hourly budget ("Hemat"), sent and received together, as a prepaid plan
# counts it: 150 MB an hour keeps a one-hour session within a 1 GB daily quota with room for
# the rest of the student's day (docs/architecture.md, "Data budgets").
SAVER_MB_PER_HOUR = 150
# Under the saver, what is received never gets less than this (the audio of a few speakers),
# even when the student's own upload already spends the budget.
SAVER_MIN_RECEIVE_BPS = 120_000
# A removed member's media must stop reaching others within this.
REMOVE_DEADLINE_S = 1.0
