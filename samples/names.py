"""Invented patients, staff and codes (no real people): Chinese names with pinyin, IDs, accessions."""
from __future__ import annotations

import random

SURNAMES = [
    ("王", "WANG"), ("李", "LI"), ("张", "ZHANG"), ("刘", "LIU"), ("陈", "CHEN"), ("杨", "YANG"), ("黄", "HUANG"),
    ("赵", "ZHAO"), ("吴", "WU"), ("周", "ZHOU"), ("徐", "XU"), ("孙", "SUN"), ("马", "MA"), ("朱", "ZHU"),
    ("胡", "HU"), ("郭", "GUO"), ("何", "HE"), ("高", "GAO"), ("林", "LIN"), ("罗", "LUO"), ("郑", "ZHENG"),
    ("梁", "LIANG"), ("谢", "XIE"), ("宋", "SONG"), ("唐", "TANG"), ("韩", "HAN"), ("冯", "FENG"), ("邓", "DENG"),
    ("曹", "CAO"), ("彭", "PENG"), ("曾", "ZENG"), ("肖", "XIAO"), ("田", "TIAN"), ("董", "DONG"), ("袁", "YUAN"),
    ("潘", "PAN"), ("蒋", "JIANG"), ("蔡", "CAI"), ("余", "YU"), ("杜", "DU"), ("叶", "YE"), ("程", "CHENG"),
    ("魏", "WEI"), ("苏", "SU"), ("吕", "LV"), ("丁", "DING"), ("任", "REN"), ("沈", "SHEN"), ("欧阳", "OUYANG"),
    ("司马", "SIMA"), ("钟", "ZHONG"), ("萧", "XIAO"), ("龚", "GONG"), ("贺", "HE"), ("聂", "NIE"),
]
GIVEN = [
    ("伟", "WEI"), ("芳", "FANG"), ("娜", "NA"), ("敏", "MIN"), ("静", "JING"), ("丽", "LI"), ("强", "QIANG"),
    ("磊", "LEI"), ("军", "JUN"), ("洋", "YANG"), ("勇", "YONG"), ("艳", "YAN"), ("杰", "JIE"), ("娟", "JUAN"),
    ("涛", "TAO"), ("明", "MING"), ("超", "CHAO"), ("秀", "XIU"), ("霞", "XIA"), ("平", "PING"), ("刚", "GANG"),
    ("桂", "GUI"), ("英", "YING"), ("华", "HUA"), ("建", "JIAN"), ("国", "GUO"), ("文", "WEN"), ("玉", "YU"),
    ("兰", "LAN"), ("婷", "TING"), ("晨", "CHEN"), ("浩", "HAO"), ("宇", "YU"), ("欣", "XIN"), ("睿", "RUI"),
    ("鑫", "XIN"), ("博", "BO"), ("梓", "ZI"), ("涵", "HAN"), ("萱", "XUAN"), ("嘉", "JIA"), ("鹏", "PENG"),
    ("辉", "HUI"), ("玲", "LING"), ("琳", "LIN"), ("雪", "XUE"), ("慧", "HUI"), ("淑", "SHU"), ("德", "DE"),
    ("福", "FU"), ("春", "CHUN"), ("志", "ZHI"), ("晓", "XIAO"), ("红", "HONG"), ("梅", "MEI"), ("鑫", "XIN"),
    ("翔", "XIANG"), ("凯", "KAI"), ("瑶", "YAO"), ("璐", "LU"), ("彬", "BIN"), ("毅", "YI"), ("蕾", "LEI"),
]


def person(rng: random.Random) -> tuple[str, str]:
    """A (Chinese name, 'PINYIN^GIVEN') pair of 2-4 characters."""
    sur, sur_py = rng.choice(SURNAMES)
    n = 1 if rng.random() < 0.3 else 2
    given = [rng.choice(GIVEN) for _ in range(n)]
    return sur + "".join(g[0] for g in given), sur_py + "^" + "".join(g[1] for g in given)


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def patient_id(rng: random.Random) -> str:
    """A hospital patient ID: 10 digits, often with leading zeros."""
    return "00" + digits(rng, 8) if rng.random() < 0.6 else str(rng.randint(1, 9)) + digits(rng, 9)
