"""Coded concepts of the X-Ray Radiation Dose SR (PS3.16 TID 10011-10014, TID 1002) used here.

Each is a `Code(value, scheme_designator, meaning)`, named as in pydicom.sr.coding.Code.
"""
from __future__ import annotations

from typing import Any, NamedTuple


class Code(NamedTuple):
    """A coded concept: code value, coding scheme designator, code meaning (a tuple of the three)."""

    value: str
    scheme_designator: str
    meaning: str

    def to_pydicom(self) -> Any:
        """The same concept as a pydicom.sr.coding.Code."""
        from pydicom.sr.coding import Code as PydicomCode

        return PydicomCode(self.value, self.scheme_designator, self.meaning)


# Document and structure
XRAY_DOSE_REPORT = Code("113701", "DCM", "X-Ray Radiation Dose Report")
PROCEDURE_REPORTED = Code("121058", "DCM", "Procedure reported")
CT_PROCEDURE = Code("77477000", "SCT", "Computed Tomography X-Ray")
HAS_INTENT = Code("363703001", "SCT", "Has Intent")
DIAGNOSTIC_INTENT = Code("261004008", "SCT", "Diagnostic Intent")
LANGUAGE = Code("121049", "DCM", "Language of Content Item and Descendants")
START_IRRADIATION = Code("113809", "DCM", "Start of X-Ray Irradiation")
END_IRRADIATION = Code("113810", "DCM", "End of X-Ray Irradiation")
SCOPE_OF_ACCUMULATION = Code("113705", "DCM", "Scope of Accumulation")
STUDY = Code("113014", "DCM", "Study")
STUDY_INSTANCE_UID = Code("110180", "DCM", "Study Instance UID")
SOURCE_OF_DOSE = Code("113854", "DCM", "Source of Dose Information")
FROM_HUMAN_READABLE = Code("113868", "DCM", "Derived From Human-Readable Reports")
COMMENT = Code("121106", "DCM", "Comment")

# Observer context (TID 1002, 1004)
OBSERVER_TYPE = Code("121005", "DCM", "Observer Type")
DEVICE = Code("121007", "DCM", "Device")
DEVICE_OBSERVER_UID = Code("121012", "DCM", "Device Observer UID")
DEVICE_OBSERVER_NAME = Code("121013", "DCM", "Device Observer Name")
DEVICE_OBSERVER_MANUFACTURER = Code("121014", "DCM", "Device Observer Manufacturer")
DEVICE_OBSERVER_MODEL = Code("121015", "DCM", "Device Observer Model Name")
DEVICE_OBSERVER_SERIAL = Code("121016", "DCM", "Device Observer Serial Number")
DEVICE_OBSERVER_LOCATION = Code("121017", "DCM", "Device Observer Physical Location During Observation")

# TID 10012 CT Accumulated Dose Data
CT_ACCUMULATED = Code("113811", "DCM", "CT Accumulated Dose Data")
TOTAL_EVENTS = Code("113812", "DCM", "Total Number of Irradiation Events")
DLP_TOTAL = Code("113813", "DCM", "CT Dose Length Product Total")

# TID 10013 CT Irradiation Event Data
CT_ACQUISITION = Code("113819", "DCM", "CT Acquisition")
ACQUISITION_PROTOCOL = Code("125203", "DCM", "Acquisition Protocol")
TARGET_REGION = Code("123014", "DCM", "Target Region")
CT_ACQUISITION_TYPE = Code("113820", "DCM", "CT Acquisition Type")
IRRADIATION_EVENT_UID = Code("113769", "DCM", "Irradiation Event UID")
CT_ACQUISITION_PARAMETERS = Code("113822", "DCM", "CT Acquisition Parameters")
EXPOSURE_TIME = Code("113824", "DCM", "Exposure Time")
SCANNING_LENGTH = Code("113825", "DCM", "Scanning Length")
SINGLE_COLLIMATION = Code("113826", "DCM", "Nominal Single Collimation Width")
TOTAL_COLLIMATION = Code("113827", "DCM", "Nominal Total Collimation Width")
PITCH_FACTOR = Code("113828", "DCM", "Pitch Factor")
NUMBER_OF_SOURCES = Code("113823", "DCM", "Number of X-Ray Sources")
SOURCE_PARAMETERS = Code("113831", "DCM", "CT X-Ray Source Parameters")
SOURCE_ID = Code("113832", "DCM", "Identification of the X-Ray Source")
KVP = Code("113733", "DCM", "KVP")
MAX_TUBE_CURRENT = Code("113833", "DCM", "Maximum X-Ray Tube Current")
TUBE_CURRENT = Code("113734", "DCM", "X-Ray Tube Current")
ROTATION_TIME = Code("113834", "DCM", "Exposure Time per Rotation")
EXPOSURE = Code("113736", "DCM", "Exposure")
CT_DOSE = Code("113829", "DCM", "CT Dose")
MEAN_CTDIVOL = Code("113830", "DCM", "Mean CTDIvol")
PHANTOM_TYPE = Code("113835", "DCM", "CTDIw Phantom Type")
DLP = Code("113838", "DCM", "DLP")
SSDE = Code("113930", "DCM", "Size Specific Dose Estimation")

# Projection X-ray (TID 10001-10003), read only
ACCUMULATED_XRAY = Code("113702", "DCM", "Accumulated X-Ray Dose Data")
DAP_TOTAL = Code("113722", "DCM", "Dose Area Product Total")
IRRADIATION_EVENT_XRAY = Code("113706", "DCM", "Irradiation Event X-Ray Data")
DAP = Code("122130", "DCM", "Dose Area Product")

# Values
HEAD_PHANTOM = Code("113690", "DCM", "IEC Head Dosimetry Phantom")
BODY_PHANTOM = Code("113691", "DCM", "IEC Body Dosimetry Phantom")
SEQUENCED = Code("113804", "DCM", "Sequenced Acquisition")
SPIRAL = Code("116152004", "SCT", "Spiral Acquisition")
CONSTANT_ANGLE = Code("113805", "DCM", "Constant Angle Acquisition")
STATIONARY = Code("113806", "DCM", "Stationary Acquisition")
FREE = Code("113807", "DCM", "Free Acquisition")
VALUE_UNKNOWN = Code("114010", "DCM", "Value unknown")

# CID 4030 (CT, MR and PET Anatomy Imaged), the regions a CT dose screen names most
TARGET_REGIONS: dict[str, Code] = {key: Code(value, "SCT", meaning) for key, value, meaning in (
    ("head", "69536005", "Head"), ("brain", "12738006", "Brain"), ("neck", "45048000", "Neck"),
    ("chest", "51185008", "Chest"), ("thorax", "51185008", "Chest"), ("abdomen", "818981001", "Abdomen"),
    ("pelvis", "816092008", "Pelvis"), ("abdomen_pelvis", "818982008", "Abdomen and Pelvis"),
    ("chest_abdomen_pelvis", "416550000", "Chest, Abdomen and Pelvis"), ("spine", "421060004", "Spine"),
    ("extremity", "66019005", "Extremity"), ("whole_body", "38266002", "Entire body"),
)}
UNKNOWN_REGION = Code("38266002", "SCT", "Entire body")

ACQUISITION_TYPES: dict[str, Code] = {
    "spiral": SPIRAL, "helical": SPIRAL, "helix": SPIRAL,
    "sequenced": SEQUENCED, "axial": SEQUENCED, "sequence": SEQUENCED, "seq": SEQUENCED,
    "constant_angle": CONSTANT_ANGLE, "localizer": CONSTANT_ANGLE, "scout": CONSTANT_ANGLE,
    "topogram": CONSTANT_ANGLE, "surview": CONSTANT_ANGLE, "scanogram": CONSTANT_ANGLE,
    "stationary": STATIONARY, "bolus": STATIONARY, "monitoring": STATIONARY,
    "free": FREE,
}

# UCUM units by the name used here; annotations ({...}) for counts and ratios
UNITS: dict[str, Code] = {
    **{unit: Code(unit, "UCUM", unit) for unit in ("mGy", "mGy.cm", "kV", "mA", "uA.s", "s", "mm", "mSv")},
    **{name: Code("{" + meaning + "}", "UCUM", meaning)
       for name, meaning in (("events", "events"), ("sources", "X-Ray sources"), ("ratio", "ratio"))},
}
