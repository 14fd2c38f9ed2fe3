"""Classic BPF in Python, with the Linux kernel's semantics, for golden tests
of generated kernel programs without root.

``run(program, packet, **meta)`` returns what the kernel's program returns
for ``packet``: bytes to keep for a socket filter (0 = drop), the member
selector for a fanout program.  ``program`` is a list of
``(code, jt, jf, k)`` tuples.  ``check(program)`` applies the kernel's
load-time checks; ``disasm(program)`` gives one line per instruction.

The packet model
  ``packet`` is the linear data from the MAC header on, as a socket filter of
  an AF_PACKET SOCK_RAW socket sees it: absolute loads read ``packet[k]``.
  Relative loads (kernel ``bpf_internal_load_pointer_neg_helper``):
  ``SKF_LL_OFF + k`` reads ``packet[k]``; ``SKF_NET_OFF + k`` reads
  ``packet[net_offset + k]``.  ``net_offset`` is 14: on receive the kernel
  has moved the outer VLAN tag to metadata and the network header follows
  the Ethernet header; pass 18 for a transmitted frame tagged in software.
  A load past the end of ``packet`` ends the program with 0, as does a
  division or modulo by X == 0.  ``len`` is ``wirelen`` (default: the packet
  length).

Metadata (ancillary loads ``SKF_AD_OFF + n`` by ``ld``/``ldh``/``ldb`` abs)
  PROTOCOL   ``protocol``, default the ethertype at offset 12 (with the outer
             tag in metadata that is the inner ethertype, as in the kernel)
  PKTTYPE    ``pkttype`` (0 host ... 4 outgoing)      IFINDEX  ``ifindex``
  MARK       ``mark``        QUEUE  ``queue`` (raw: RX queue + 1, 0 if none)
  HATYPE     ``hatype``      RXHASH ``rxhash`` (0)    CPU  ``cpu`` (0)
  ALU_XOR_X  A ^= X (no load)
  VLAN_TAG   ``vlan_tci`` (the full TCI; 0 without a tag)
  VLAN_TAG_PRESENT  1 if ``vlan_tci`` is not None
  VLAN_TPID  ``vlan_tpid`` when tagged, else 0
  PAY_OFFSET ``pay_offset`` (0)   NLATTR, NLATTR_NEST: 0 (not emulated)
  RANDOM     deterministic: a counter from ``random``; the first RANDOM load
             of a run returns ``random``, the next ``random + 1``, ...
  Index and relative loads never see metadata (``ld [x+k]`` with a negative
  X + k is a relative load, as in the kernel).

Shifts by X use the low 5 bits of X (x86-64 and arm64 JITs); shifts by a
constant >= 32 are rejected by ``check``.  ``run`` raises ValueError on an
instruction the kernel would not load.

Disassembly format (libpcap's ``bpf_image`` with absolute jump targets and
ancillary loads by name):
  ``ldh [12]``  ``ld [x+14]``  ``ldb [ll+12]``  ``ld [net+9]``  ``ld #0x800``
  ``ld len``  ``ld M[3]``  ``ldxb 4*([14]&0xf)``  ``st M[0]``  ``and #0xfff``
  ``add x``  ``neg``  ``ja 7``  ``jeq #0x800 jt 2 jf 5``  ``jset x jt 3 jf 4``
  ``ret #262144``  ``ret a``  ``tax``  ``txa``
  Ancillary loads: ``ld NAME`` with NAME from ``AD`` (``ld type``,
  ``ld ifidx``, ``ld queue``, ``ld vlan_tci``, ``ld vlanp``, ...), whatever
  the load size; no ``#``, so they do not read as immediates.
"""

SKF_AD_OFF = -0x1000
SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000
BPF_MAXINSNS = 4096
BPF_MEMWORDS = 16

# Ancillary offsets (n in SKF_AD_OFF + n) and their disassembly names.
AD = {0: "proto", 4: "type", 8: "ifidx", 12: "nla", 16: "nlan", 20: "mark", 24: "queue",
      28: "hatype", 32: "rxhash", 36: "cpu", 40: "xor_x", 44: "vlan_tci", 48: "vlanp",
      52: "poff", 56: "random", 60: "vlan_tpid"}
_XOR_X, _RANDOM = 40, 56

_M32 = 0xFFFFFFFF
_SIZES = {0x00: 4, 0x08: 2, 0x10: 1}                  # W, H, B
_WIDTH = {0x00: "", 0x08: "h", 0x10: "b"}
_ALU = {0x00: "add", 0x10: "sub", 0x20: "mul", 0x30: "div", 0x40: "or", 0x50: "and",
        0x60: "lsh", 0x70: "rsh", 0x80: "neg", 0x90: "mod", 0xA0: "xor"}
_JMP = {0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset"}

# The opcodes the kernel loads (chk_code_allowed).
ALLOWED = frozenset(
    [0x04 | op | src for op in _ALU if op != 0x80 for src in (0x00, 0x08)] + [0x84]
    + [0x00 | size | mode for size in _SIZES for mode in (0x20, 0x40)]   # ld abs, ind
    + [0x80, 0x00, 0x60]                                                 # ld len, imm, mem
    + [0x81, 0xB1, 0x01, 0x61]                                           # ldx len, msh, imm, mem
    + [0x02, 0x03, 0x07, 0x87, 0x06, 0x16, 0x05]                         # st stx tax txa ret ja
    + [0x05 | op | src for op in _JMP for src in (0x00, 0x08)])


def _signed(k):
    return k - (1 << 32) if k & 0x80000000 else k


class _Skb:
    """The packet and the skb fields the ancillary loads read."""

    def __init__(self, packet, meta):
        self.data = packet
        self.net = meta.pop("net_offset")
        self.random = meta.pop("random")
        tci = meta.pop("vlan_tci")
        proto = meta.pop("protocol")
        if proto is None:
            proto = int.from_bytes(packet[12:14], "big") if len(packet) >= 14 else 0
        self.ad = {0: proto, 4: meta.pop("pkttype"), 8: meta.pop("ifindex"), 12: 0, 16: 0,
                   20: meta.pop("mark"), 24: meta.pop("queue"), 28: meta.pop("hatype"),
                   32: meta.pop("rxhash"), 36: meta.pop("cpu"), 44: tci or 0,
                   48: int(tci is not None), 52: meta.pop("pay_offset"),
                   60: meta.pop("vlan_tpid") if tci is not None else 0}

    def load(self, offset, size):
        """A packet load at a signed offset (absolute or relative), or None
        when it is out of bounds."""
        if offset >= 0:
            base = offset
        elif offset >= SKF_NET_OFF:
            base = self.net + offset - SKF_NET_OFF
        elif offset >= SKF_LL_OFF:
            base = offset - SKF_LL_OFF
        else:
            return None
        if base + size > len(self.data):
            return None
        return int.from_bytes(self.data[base:base + size], "big")

    def ancillary(self, n):
        if n == _RANDOM:
            value, self.random = self.random, (self.random + 1) & _M32
            return value & _M32
        if n not in self.ad:
            raise ValueError(f"unknown ancillary load SKF_AD_OFF+{n}")
        return self.ad[n] & _M32


def run(program, packet, *, pkttype=0, ifindex=1, hatype=1, queue=0, vlan_tci=None,
        vlan_tpid=0x8100, protocol=None, wirelen=None, net_offset=14, mark=0, rxhash=0,
        cpu=0, pay_offset=0, random=0):
    """Runs ``program`` over ``packet``; returns the program's 32-bit result."""
    packet = bytes(packet)
    skb = _Skb(packet, dict(pkttype=pkttype, ifindex=ifindex, hatype=hatype, queue=queue,
                            vlan_tci=vlan_tci, vlan_tpid=vlan_tpid, protocol=protocol,
                            net_offset=net_offset, mark=mark, rxhash=rxhash, cpu=cpu,
                            pay_offset=pay_offset, random=random))
    length = (len(packet) if wirelen is None else wirelen) & _M32
    a = x = 0
    mem = [0] * BPF_MEMWORDS
    pc, n = 0, len(program)
    while pc < n:
        code, jt, jf, k = program[pc]
        pc += 1
        cls = code & 0x07
        if code not in ALLOWED:
            raise ValueError(f"opcode {code:#x} at {pc - 1} is not classic BPF")
        if cls == 0x00 or cls == 0x01:                          # ld, ldx
            mode = code & 0xE0
            if mode == 0x00:                                    # #k
                v = k
            elif mode == 0x80:                                  # len
                v = length
            elif mode == 0x60:                                  # M[k]
                v = mem[k]
            elif mode == 0xA0:                                  # 4*([k]&0xf)
                v = skb.load(_signed(k), 1)
                v = None if v is None else (v & 0xF) << 2
            elif mode == 0x20 and k >= (SKF_AD_OFF & _M32):     # ancillary
                if k - (SKF_AD_OFF & _M32) == _XOR_X:
                    a ^= x
                    continue
                v = skb.ancillary(k - (SKF_AD_OFF & _M32))
            else:                                               # [k], [x+k]
                off = k if mode == 0x20 else (x + k) & _M32
                v = skb.load(_signed(off), _SIZES[code & 0x18])
            if v is None:
                return 0
            if cls == 0x00:
                a = v & _M32
            else:
                x = v & _M32
        elif cls == 0x02:                                       # st
            mem[k] = a
        elif cls == 0x03:                                       # stx
            mem[k] = x
        elif cls == 0x04:                                       # alu
            a = _alu(code & 0xF0, a, x if code & 0x08 else k, bool(code & 0x08))
            if a is None:
                return 0
        elif cls == 0x05:                                       # jmp
            op = code & 0xF0
            if op == 0x00:
                pc += k
                continue
            src = x if code & 0x08 else k
            cond = (a == src if op == 0x10 else a > src if op == 0x20 else
                    a >= src if op == 0x30 else bool(a & src))
            pc += jt if cond else jf
        elif cls == 0x06:                                       # ret
            return (a if code & 0x18 == 0x10 else k) & _M32
        else:                                                   # tax, txa
            if code == 0x07:
                x = a
            else:
                a = x
    raise ValueError("the program ran off its end")


def _alu(op, a, src, by_x):
    """A op src on 32 bits; None for a division or modulo by zero."""
    if op == 0x00:
        return (a + src) & _M32
    if op == 0x10:
        return (a - src) & _M32
    if op == 0x20:
        return (a * src) & _M32
    if op in (0x30, 0x90):
        if src == 0:
            return None
        return a // src if op == 0x30 else a % src
    if op == 0x40:
        return a | src
    if op == 0x50:
        return a & src
    if op == 0x60:
        return (a << (src & 31 if by_x else src)) & _M32
    if op == 0x70:
        return a >> (src & 31 if by_x else src)
    if op == 0x80:
        return -a & _M32
    return a ^ src                                              # 0xA0


def check(program):
    """The kernel's load-time checks of a classic program (6.1
    ``bpf_check_classic`` and ``check_load_and_stores``): length, allowed
    opcodes, constant division by zero, constant shifts of 32 or more,
    scratch indexes, jump targets, known ancillary offsets, a final return,
    and no scratch word read on a path that has not stored it.  Raises
    ValueError with the reason."""
    n = len(program)
    if not 0 < n <= BPF_MAXINSNS:
        raise ValueError(f"the program has {n} instructions (1..{BPF_MAXINSNS})")
    for pc, insn in enumerate(program):
        _check_insn(pc, insn, n)
    if program[-1][0] not in (0x06, 0x16):
        raise ValueError("the last instruction is not a return")
    _check_scratch(program)


def _check_insn(pc, insn, n):
    code, jt, jf, k = insn
    if code not in ALLOWED:
        raise ValueError(f"opcode {code:#x} at {pc} is not classic BPF")
    if not (0 <= jt <= 255 and 0 <= jf <= 255 and 0 <= k <= _M32):
        raise ValueError(f"field out of range at {pc}: {insn}")
    cls, op = code & 0x07, code & 0xF0
    if code in (0x34, 0x94) and k == 0:
        raise ValueError(f"division by constant 0 at {pc}")
    if code in (0x64, 0x74) and k >= 32:
        raise ValueError(f"shift by constant {k} at {pc}")
    if code in (0x60, 0x61, 0x02, 0x03) and k >= BPF_MEMWORDS:
        raise ValueError(f"scratch word {k} at {pc}")
    if code == 0x05 and k >= n - pc - 1:
        raise ValueError(f"ja at {pc} leaves the program")
    if cls == 0x05 and op and (pc + jt + 1 >= n or pc + jf + 1 >= n):
        raise ValueError(f"jump at {pc} leaves the program")
    if code in (0x20, 0x28, 0x30) and k >= (SKF_AD_OFF & _M32) \
            and k - (SKF_AD_OFF & _M32) not in AD:
        raise ValueError(f"unknown ancillary load at {pc}")


def _check_scratch(program):
    masks = [0xFFFF] * len(program)
    valid = 0
    for pc, (code, jt, jf, k) in enumerate(program):
        valid &= masks[pc]
        if code in (0x02, 0x03):
            valid |= 1 << k
        elif code in (0x60, 0x61) and not valid & (1 << k):
            raise ValueError(f"load of scratch word {k} at {pc} before a store")
        elif code == 0x05:
            masks[pc + 1 + k] &= valid
            valid = 0xFFFF
        elif code & 0x07 == 0x05:
            masks[pc + 1 + jt] &= valid
            masks[pc + 1 + jf] &= valid
            valid = 0xFFFF


def _operand(k):
    s = _signed(k)
    if SKF_AD_OFF <= s < 0:
        return AD.get(s - SKF_AD_OFF, f"#ad{s - SKF_AD_OFF}")
    if SKF_NET_OFF <= s < SKF_AD_OFF:
        return f"[net+{s - SKF_NET_OFF}]"
    if SKF_LL_OFF <= s < SKF_NET_OFF:
        return f"[ll+{s - SKF_LL_OFF}]"
    return f"[{k}]"


def _image(i, code, jt, jf, k):
    cls = code & 0x07
    if cls in (0x00, 0x01):
        reg, mode = ("ld", "ldx")[cls], code & 0xE0
        width = _WIDTH.get(code & 0x18, "?")
        if mode == 0x00:
            return f"{reg} #{k:#x}"
        if mode == 0x80:
            return f"{reg} len"
        if mode == 0x60:
            return f"{reg} M[{k}]"
        if mode == 0xA0:
            return f"ldxb 4*([{k}]&0xf)"
        if mode == 0x40:
            return f"{reg}{width} [x+{_signed(k)}]"
        opnd = _operand(k)
        return f"{reg}{width if opnd.startswith('[') else ''} {opnd}"
    if cls in (0x02, 0x03):
        return f"{('st', 'stx')[cls - 2]} M[{k}]"
    if cls == 0x04:
        name = _ALU.get(code & 0xF0, f"alu{code:#x}")
        return name if name == "neg" else f"{name} {'x' if code & 0x08 else f'#{k:#x}'}"
    if cls == 0x05:
        if code & 0xF0 == 0x00:
            return f"ja {i + 1 + k}"
        name = _JMP.get(code & 0xF0, f"jmp{code:#x}")
        return f"{name} {'x' if code & 0x08 else f'#{k:#x}'} jt {i + 1 + jt} jf {i + 1 + jf}"
    if cls == 0x06:
        return "ret a" if code & 0x18 == 0x10 else f"ret #{k}"
    return "tax" if code & 0xF8 == 0x00 else "txa"


def disasm(program):
    """One line per instruction (the format is in the module docstring)."""
    return [_image(i, *insn) for i, insn in enumerate(program)]
