"""Stage templates: the ordered stages a counselor leads a group through, with what each means.

Each stage has a name, a one-line guidance for members and a checklist for the leader, in Bahasa
Indonesia (``id``) and English (``en``), a suggested duration, and a permission preset that the
server applies and enforces when the leader enters the stage. The content follows the research
the project is built on (../shared/domain.md): its five-stage online model, and the classic
face-to-face model many counselors know.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

Policy = Literal["members_may_unmute", "ask_to_speak"]


@dataclass(frozen=True)
class Preset:
    """What members may do in a stage; the leader may always speak, show video and share."""

    policy: Policy
    "Who may unmute: every member, or only those the leader asks (or gives the floor)."
    video: bool
    "Whether members may show their camera."
    chat: bool
    "Whether chat to everyone is open (a private message to the leader always is)."
    share: bool
    "Whether every member may share a screen (otherwise only those the leader allows)."


@dataclass(frozen=True)
class Text:
    id: str
    en: str

    def __call__(self, language: str) -> str:
        return self.en if language == "en" else self.id

    def both(self) -> dict[str, str]:
        return {"id": self.id, "en": self.en}


@dataclass(frozen=True)
class Stage:
    key: str
    title: Text
    guidance: Text
    checklist: tuple[Text, ...]
    minutes: int
    preset: Preset

    @property
    def name_id(self) -> str:
        return self.title.id

    @property
    def name_en(self) -> str:
        return self.title.en

    def name(self, language: str) -> str:
        return self.title(language)


@dataclass(frozen=True)
class Template:
    key: str
    name_id: str
    name_en: str
    stages: tuple[Stage, ...]

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_id


OPEN = Preset(policy="members_may_unmute", video=True, chat=True, share=False)
TURNS = Preset(policy="ask_to_speak", video=True, chat=True, share=False)

_GREETING = Text("Salam pembuka", "Opening greeting")
_INTRODUCTIONS = Text("Perkenalan anggota dan pemimpin", "Members and leader introduce themselves")
_PRINCIPLES = Text(
    "Jelaskan asas: kerahasiaan, kesukarelaan, keterbukaan",
    "Explain the principles: confidentiality, voluntariness, openness",
)
_FOLLOW_UP = Text(
    "Rencanakan tindak lanjut (sesi berikutnya, konseling individu, rujukan)",
    "Plan follow-up (next session, individual counseling, referral)",
)
_EVALUATION = Text("Buka evaluasi segera (laiseg: UCA)", "Open the immediate evaluation (UCA)")

# The five-stage model for online group guidance from the research the project is built on.
ONLINE: Final = Template(
    "online",
    "Model online (lima tahap)",
    "Online model (five stages)",
    (
        Stage(
            "pre_preparation",
            Text("Pra-persiapan", "Pre-preparation"),
            Text(
                "Siapkan perangkat dan tempat yang tenang; sesi segera dimulai.",
                "Get your device and a quiet place ready; the session starts soon.",
            ),
            (
                Text("Periksa rencana layanan (RPL)", "Check the session plan"),
                Text("Uji kamera, mikrofon dan koneksi", "Test camera, microphone and connection"),
                Text("Bagikan tautan atau kode sesi", "Share the session link or code"),
            ),
            5,
            OPEN,
        ),
        Stage(
            "preparation",
            Text("Persiapan", "Preparation"),
            Text(
                "Pastikan kamera dan mikrofonmu berfungsi, lalu tunggu semua anggota bergabung.",
                "Make sure your camera and microphone work, then wait for everyone to join.",
            ),
            (
                Text("Tunggu sampai semua anggota bergabung", "Wait until all members have joined"),
                Text(
                    "Pastikan semua dapat mendengar dan terlihat",
                    "Check that everyone can hear and be seen",
                ),
                _PRINCIPLES,
            ),
            10,
            OPEN,
        ),
        Stage(
            "activity",
            Text("Pelaksanaan kegiatan", "Activity"),
            Text(
                "Dengarkan, angkat tangan untuk berbicara, dan tanggapi secara bergiliran.",
                "Listen, raise your hand to speak, and respond in turn.",
            ),
            (
                _GREETING,
                _INTRODUCTIONS,
                Text("Sampaikan topik", "Give the topic"),
                Text("Berikan informasi terkini tentang topik", "Give current information on it"),
                Text("Anggota menanggapi secara bergiliran", "Members respond in turn"),
            ),
            40,
            TURNS,
        ),
        Stage(
            "observation",
            Text("Pengamatan", "Observation"),
            Text(
                "Lanjutkan diskusi dengan sungguh-sungguh dan hargai pendapat teman.",
                "Keep discussing seriously and respect each other's opinions.",
            ),
            (
                Text(
                    "Amati keaktifan memberi pendapat", "Observe who is active in giving opinions"
                ),
                Text("Amati sikap menghargai pendapat", "Observe respect for others' opinions"),
                Text("Amati kesungguhan mengikuti kegiatan", "Observe who takes part seriously"),
                Text("Catat pengamatan", "Write down observations"),
            ),
            10,
            TURNS,
        ),
        Stage(
            "closing",
            Text("Pengakhiran", "Closing"),
            Text(
                "Sampaikan apa yang kamu peroleh hari ini dan isi evaluasi singkat.",
                "Say what you gained today and fill in the short evaluation.",
            ),
            (
                Text(
                    "Tanyakan apa yang diperoleh setiap anggota",
                    "Ask each member what they gained",
                ),
                Text("Simpulkan hasil kegiatan bersama", "Sum up the results together"),
                _EVALUATION,
                _FOLLOW_UP,
                Text("Salam penutup", "Closing greeting"),
            ),
            10,
            OPEN,
        ),
    ),
)

# The classic face-to-face model many counselors know.
CLASSIC: Final = Template(
    "classic",
    "Model klasik (tatap muka)",
    "Classic model (face to face)",
    (
        Stage(
            "forming",
            Text("Pembentukan", "Forming"),
            Text(
                "Kenali tujuan kegiatan dan teman-teman dalam kelompok.",
                "Get to know the purpose of the session and the others in the group.",
            ),
            (
                _GREETING,
                Text("Jelaskan tujuan kegiatan", "Explain the purpose"),
                _PRINCIPLES,
                _INTRODUCTIONS,
            ),
            10,
            OPEN,
        ),
        Stage(
            "transition",
            Text("Peralihan", "Transition"),
            Text(
                "Sampaikan bila kamu sudah siap atau masih ada yang ingin ditanyakan.",
                "Say whether you are ready, or what you still want to ask.",
            ),
            (
                Text("Jelaskan kegiatan berikutnya", "Explain what comes next"),
                Text("Tanyakan kesiapan anggota", "Ask whether everyone is ready"),
            ),
            5,
            OPEN,
        ),
        Stage(
            "activity",
            Text("Kegiatan", "Activity"),
            Text(
                "Bahas topik bersama: angkat tangan untuk berbicara dan dengarkan teman.",
                "Discuss the topic: raise your hand to speak and listen to the others.",
            ),
            (
                Text("Sampaikan topik", "Give the topic"),
                Text("Bahas topik secara mendalam", "Discuss the topic in depth"),
                Text("Anggota menanggapi secara bergiliran", "Members respond in turn"),
            ),
            40,
            TURNS,
        ),
        Stage(
            "summing_up",
            Text("Penyimpulan", "Summing up"),
            Text(
                "Bantu menyimpulkan apa yang sudah dibahas.",
                "Help sum up what was discussed.",
            ),
            (Text("Simpulkan hasil pembahasan", "Sum up the discussion"), _EVALUATION),
            10,
            OPEN,
        ),
        Stage(
            "closing",
            Text("Pengakhiran", "Closing"),
            Text(
                "Sampaikan kesan dan pesanmu; sesi akan segera berakhir.",
                "Share your impressions; the session ends soon.",
            ),
            (_FOLLOW_UP, Text("Salam penutup", "Closing greeting")),
            5,
            OPEN,
        ),
    ),
)

TEMPLATES: Final = MappingProxyType({t.key: t for t in (ONLINE, CLASSIC)})
DEFAULT_TEMPLATE: Final = ONLINE.key
