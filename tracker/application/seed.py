"""A deterministic, realistic demo portfolio, written through the domain and the application.

Every figure a dashboard shows after `tracker seed` comes from real events: the seeder plans
each project's history (phases, gates, milestones, partners, activities…) with one seeded
`random.Random`, merges the histories of all projects into one chronological stream, and
sends each step as the command a lab's staff would have sent (with its business date
`occurred_on` backdated) through the application's command path, `execute_many`, a few
hundred commands per transaction. Ids and correlation ids come from
the same random generator, so one `--seed` gives the same event log, event for event.

Business dates never pass `WINDOW_END` (a fixed date, so the log does not depend on the day
it is seeded) nor today, whichever is earlier. Planned milestones may fall due after it.

The labs' training programme is planned alongside (`plan_programme`): about two and a half
training actions per project (the labs' own ratio, "nearly 200 projects and nearly 500
training actions"), most held with a realistic attendance, some cancelled or rescheduled,
and the November 2020 programme of the *Mois de l'innovation publique* (docs/training.md).

Territories are real INSEE COG codes: region 27 (Bourgogne-Franche-Comté), its eight
departments and communes of them, and for the State labs elsewhere, their regions,
departments and prefectures.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.campaign import Campaign
from domain.values import (
    ActivityKind,
    ActivityMode,
    Audience,
    GateDecision,
    Health,
    Outcome,
    Phase,
    Territory,
    TrainingFormat,
)
from tracker.application.commands import COMMANDS, Command
from tracker.application.service import TrackerApplication

SEED_ACTOR = "seed"
DEFAULT_PROJECTS = 200
MAX_PROJECTS = 10_000
DEFAULT_SEED = 42
SAVE_EVERY = 250  # commands per transaction
WINDOW_START = date(2018, 1, 8)
WINDOW_END = date(2026, 11, 20)


class SeedError(Exception):
    """The store cannot be seeded as asked (not empty, or the seed's ids are taken)."""


# -- the labs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A commune with its INSEE code and its department's code."""

    code: str
    name: str
    department: str


@dataclass(frozen=True)
class LabProfile:
    slug: str
    name: str
    region_code: str
    region_name: str
    departments: dict[str, str]
    communes: tuple[Place, ...]
    share: float  # of the portfolio's projects
    epcis: tuple[tuple[str, str], ...] = ()


BFC_DEPARTMENTS = {
    "21": "Côte-d'Or",
    "25": "Doubs",
    "39": "Jura",
    "58": "Nièvre",
    "70": "Haute-Saône",
    "71": "Saône-et-Loire",
    "89": "Yonne",
    "90": "Territoire de Belfort",
}

# Codes checked against the COG: the prefectures and a few smaller communes.
BFC_COMMUNES = (
    Place("21231", "Dijon", "21"),
    Place("25056", "Besançon", "25"),
    Place("25388", "Montbéliard", "25"),
    Place("25031", "Audincourt", "25"),
    Place("39300", "Lons-le-Saunier", "39"),
    Place("39198", "Dole", "39"),
    Place("39097", "Champagnole", "39"),
    Place("58194", "Nevers", "58"),
    Place("58152", "Magny-Cours", "58"),
    Place("70550", "Vesoul", "70"),
    Place("71270", "Mâcon", "71"),
    Place("71076", "Chalon-sur-Saône", "71"),
    Place("71073", "Chagny", "71"),
    Place("71154", "Crissey", "71"),
    Place("71105", "Charnay-lès-Mâcon", "71"),
    Place("89024", "Auxerre", "89"),
    Place("90010", "Belfort", "90"),
)

LABS: tuple[LabProfile, ...] = (
    LabProfile(
        slug="region-bfc",
        name="Laboratoire d'innovation publique de la Région Bourgogne-Franche-Comté",
        region_code="27",
        region_name="Bourgogne-Franche-Comté",
        departments=BFC_DEPARTMENTS,
        communes=BFC_COMMUNES,
        share=0.40,
        epcis=(("200065647", "CA Pays de Montbéliard Agglomération"),),
    ),
    LabProfile(
        slug="etat-bfc",
        name="Laboratoire d'innovation publique de l'État en Bourgogne-Franche-Comté",
        region_code="27",
        region_name="Bourgogne-Franche-Comté",
        departments=BFC_DEPARTMENTS,
        communes=BFC_COMMUNES,
        share=0.20,
    ),
    LabProfile(
        slug="etat-grand-est",
        name="Laboratoire d'innovation publique de l'État dans le Grand Est",
        region_code="44",
        region_name="Grand Est",
        departments={"10": "Aube", "54": "Meurthe-et-Moselle", "57": "Moselle", "67": "Bas-Rhin"},
        communes=(
            Place("67482", "Strasbourg", "67"),
            Place("57463", "Metz", "57"),
            Place("54395", "Nancy", "54"),
            Place("68224", "Mulhouse", "68"),
            Place("68066", "Colmar", "68"),
            Place("10387", "Troyes", "10"),
        ),
        share=0.14,
    ),
    LabProfile(
        slug="etat-occitanie",
        name="Laboratoire d'innovation publique de l'État en Occitanie",
        region_code="76",
        region_name="Occitanie",
        departments={"11": "Aude", "31": "Haute-Garonne", "65": "Hautes-Pyrénées"},
        communes=(
            Place("31555", "Toulouse", "31"),
            Place("66136", "Perpignan", "66"),
            Place("65440", "Tarbes", "65"),
            Place("11069", "Carcassonne", "11"),
        ),
        share=0.13,
    ),
    LabProfile(
        slug="etat-hauts-de-france",
        name="Laboratoire d'innovation publique de l'État dans les Hauts-de-France",
        region_code="32",
        region_name="Hauts-de-France",
        departments={"59": "Nord", "62": "Pas-de-Calais", "80": "Somme"},
        communes=(
            Place("59350", "Lille", "59"),
            Place("59183", "Dunkerque", "59"),
            Place("62041", "Arras", "62"),
            Place("80021", "Amiens", "80"),
        ),
        share=0.13,
    ),
)

# -- what the projects are about ---------------------------------------------------------


@dataclass(frozen=True)
class Archetype:
    """A kind of project the labs run: its title and summary patterns, themes and scale.

    `{commune}`, `{department}` and `{region}` in the title and summary are filled in with
    the project's place; `scale` is the territory level it is placed on.
    """

    title: str
    summary: str
    themes: tuple[str, ...]
    scale: str  # "commune", "department" or "region"
    partners: tuple[tuple[str, str], ...] = ()


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "Une bibliothèque innovante à {commune}",
        "Repenser la médiathèque de {commune} avec ses usagers et avec ceux qui n'y viennent "
        "pas : horaires, accueil, services numériques, un tiers-lieu ouvert le dimanche.",
        ("culture", "lecture publique", "tiers-lieux"),
        "commune",
        (("Réseau des bibliothèques de la ville", "terrain d'expérimentation"),),
    ),
    Archetype(
        "Le service de l'eau de {commune}, vu par ses usagers",
        "Rendre la facture d'eau compréhensible, simplifier l'abonnement et les signalements "
        "de fuite, avec les agents de la régie et les habitants de {commune}.",
        ("eau", "relation usagers"),
        "commune",
        (("Régie des eaux", "maîtrise d'ouvrage"),),
    ),
    Archetype(
        "Villages du futur : {commune} et ses habitants",
        "Imaginer avec les habitants la vie du village dans vingt ans — services, mobilités, "
        "logement, lieux de rencontre — et engager les premières réalisations.",
        ("ruralité", "participation citoyenne"),
        "commune",
        (("Association des maires ruraux", "relais auprès des élus"),),
    ),
    Archetype(
        "Une plateforme de ressources en santé mentale en {department}",
        "Recenser et rendre trouvables les lieux d'écoute, de soin et d'entraide pour les "
        "personnes concernées, leurs proches et les professionnels du département.",
        ("santé mentale", "accès aux droits"),
        "department",
        (("UNAFAM", "expertise d'usage"), ("Agence régionale de santé", "co-financeur")),
    ),
    Archetype(
        "Crash tests de politiques scolaires en {department}",
        "Tester une mesure éducative avec des élèves, des parents et des enseignants avant "
        "sa généralisation : ce qui marche, ce qui coince, ce qu'il faut changer.",
        ("éducation", "évaluation"),
        "department",
        (("Rectorat", "commanditaire"),),
    ),
    Archetype(
        "Mobilité rurale solidaire en {department}",
        "Transport à la demande, covoiturage de proximité et garages solidaires : trouver "
        "avec les habitants sans voiture les solutions qui tiennent dans la durée.",
        ("mobilité", "ruralité"),
        "department",
        (("Familles rurales", "animation locale"),),
    ),
    Archetype(
        "L'accueil des nouveaux habitants à {commune}",
        "Un parcours d'accueil en mairie pour les familles qui s'installent : démarches, "
        "écoles, associations, premiers contacts avec les services.",
        ("accueil", "relation usagers"),
        "commune",
    ),
    Archetype(
        "Simplifier la demande d'aide sociale en {department}",
        "Réduire le non-recours en simplifiant les formulaires et l'accompagnement, à partir "
        "du parcours réel des demandeurs et des travailleurs sociaux.",
        ("accès aux droits", "solidarités"),
        "department",
        (("Fédération des centres sociaux", "terrain d'expérimentation"),),
    ),
    Archetype(
        "Des cantines moins gaspilleuses et plus locales à {commune}",
        "Avec les cuisiniers, les élèves et les producteurs du territoire : moins de "
        "gaspillage, plus de produits locaux, des menus construits ensemble.",
        ("alimentation", "éducation", "transition écologique"),
        "commune",
    ),
    Archetype(
        "Le parcours d'un usager en France services ({department})",
        "Suivre les usagers des maisons France services du département pour fluidifier "
        "les passages de relais entre opérateurs.",
        ("accès aux services publics",),
        "department",
    ),
    Archetype(
        "Revitaliser le centre-bourg de {commune}",
        "Commerces vacants, logements, espaces publics : un diagnostic en marchant avec les "
        "habitants et des installations temporaires pour tester les usages.",
        ("urbanisme", "commerce", "participation citoyenne"),
        "commune",
    ),
    Archetype(
        "Les aidants familiaux au cœur de la politique autonomie en {department}",
        "Comprendre le quotidien des proches aidants pour concevoir des solutions de répit "
        "et d'information qui leur ressemblent.",
        ("autonomie", "santé"),
        "department",
    ),
    Archetype(
        "La sobriété énergétique des bâtiments publics de {commune}",
        "Former les agents, impliquer les usagers des écoles et des gymnases, mesurer et "
        "partager les économies d'énergie.",
        ("transition écologique", "sobriété énergétique"),
        "commune",
    ),
    Archetype(
        "Former les agents de {region} au design des politiques publiques",
        "Un cycle de formation-action pour que les équipes des collectivités conduisent "
        "elles-mêmes des démarches centrées sur les usagers.",
        ("formation", "design des politiques publiques"),
        "region",
        (("CNFPT", "formation"),),
    ),
    Archetype(
        "L'inclusion numérique des seniors à {commune}",
        "Des permanences et des ateliers pour les démarches en ligne, co-construits avec les "
        "clubs de retraités et les conseillers numériques.",
        ("inclusion numérique", "autonomie"),
        "commune",
        (("Emmaüs Connect", "appui méthodologique"),),
    ),
    Archetype(
        "Un lieu pour les jeunes ruraux de {department}",
        "Avec les 15-25 ans du département : un lieu, des horaires et une programmation "
        "qu'ils ont choisis, et les moyens d'y venir.",
        ("jeunesse", "ruralité"),
        "department",
    ),
    Archetype(
        "Des démarches d'urbanisme en ligne pour les petites communes de {department}",
        "Accompagner les secrétaires de mairie dans la dématérialisation des autorisations "
        "d'urbanisme, sans perdre les habitants éloignés du numérique.",
        ("numérique", "urbanisme"),
        "department",
    ),
    Archetype(
        "Donner envie de travailler en EHPAD ({department})",
        "Immersions, témoignages et revue des conditions d'accueil des nouveaux soignants "
        "pour rendre ces métiers plus attractifs.",
        ("santé", "emploi"),
        "department",
    ),
    Archetype(
        "Un tiers-lieu nourricier à {commune}",
        "Jardin partagé, cuisine collective et épicerie solidaire dans un bâtiment communal "
        "vacant, gérés avec les associations du quartier.",
        ("alimentation", "tiers-lieux", "solidarités"),
        "commune",
    ),
    Archetype(
        "Les abords des collèges plus sûrs à {commune}",
        "Observer les trajets des élèves et tester avec eux des aménagements temporaires "
        "avant les travaux définitifs.",
        ("sécurité routière", "éducation"),
        "commune",
    ),
    Archetype(
        "Un budget participatif des lycéens de {region}",
        "Les lycéens proposent, votent et réalisent des projets pour leur établissement ; "
        "le lab outille les équipes et évalue la démarche.",
        ("jeunesse", "participation citoyenne"),
        "region",
    ),
    Archetype(
        "Découvrir les métiers de l'industrie au collège à {commune}",
        "Visites d'entreprises, ateliers et rencontres pour que les collégiens choisissent "
        "leur orientation en connaissant les métiers du territoire.",
        ("éducation", "emploi"),
        "commune",
    ),
    Archetype(
        "Des achats publics responsables en {region}",
        "Un laboratoire des achats pour intégrer clauses sociales et environnementales dans "
        "les marchés, avec les acheteurs et les entreprises locales.",
        ("achats publics", "transition écologique"),
        "region",
    ),
    Archetype(
        "Le parcours des victimes de violences intrafamiliales en {department}",
        "De la plainte à la mise à l'abri : cartographier le parcours, réduire les ruptures "
        "et mieux coordonner les services de l'État et les associations.",
        ("justice", "solidarités"),
        "department",
    ),
    Archetype(
        "L'accès aux soins dans les territoires ruraux de {department}",
        "Téléconsultation accompagnée, bus de santé et accueil des internes : tester ce qui "
        "rapproche les habitants des soignants.",
        ("santé", "ruralité"),
        "department",
    ),
    Archetype(
        "Prévenir les inondations avec les riverains à {commune}",
        "Culture du risque, alertes et exercices conçus avec les habitants des quartiers "
        "inondables et les services de secours.",
        ("risques naturels", "eau"),
        "commune",
    ),
)

COMMON_PARTNERS: tuple[tuple[str, str], ...] = (
    ("CNFPT", "formation des agents"),
    ("Collège européen de Cluny", "appui méthodologique"),
    ("La 27e Région", "appui méthodologique"),
    ("Banque des Territoires", "co-financeur"),
    ("Fédération des centres sociaux", "relais associatif"),
    ("Familles rurales", "relais associatif"),
)

FUNDING_SOURCES: tuple[tuple[str, int, int], ...] = (
    # (source, min euros, max euros)
    ("Fonds pour la transformation de l'action publique", 40_000, 300_000),
    ("Crédits d'innovation du lab", 5_000, 40_000),
    ("FEDER", 30_000, 200_000),
    ("Banque des Territoires", 10_000, 80_000),
    ("Conseil départemental", 5_000, 60_000),
    ("Commune porteuse", 2_000, 25_000),
)

INDICATORS: tuple[tuple[str, str, float, float], ...] = (
    ("Usagers accompagnés", "personnes", 0, 400),
    ("Taux de satisfaction des usagers", "%", 55, 80),
    ("Délai moyen de traitement", "jours", 45, 20),
    ("Agents formés", "agents", 0, 120),
    ("Habitants mobilisés", "personnes", 0, 300),
    ("Taux de non-recours", "%", 35, 20),
)

MILESTONES: dict[Phase, tuple[str, ...]] = {
    Phase.FRAMING: ("Lettre de mission signée", "Comité de pilotage de lancement"),
    Phase.DISCOVERY: ("Entretiens usagers terminés", "Restitution de l'immersion"),
    Phase.IDEATION: ("Atelier de co-conception", "Pistes retenues en comité de pilotage"),
    Phase.PROTOTYPING: ("Premier prototype testé", "Maquette présentée aux élus"),
    Phase.EXPERIMENTATION: ("Lancement de l'expérimentation", "Bilan à mi-parcours"),
    Phase.DEPLOYMENT: ("Décision de déploiement", "Service ouvert sur tout le territoire"),
    Phase.SCALING: ("Kit d'essaimage publié", "Second territoire engagé"),
}

ACTIVITIES: dict[ActivityKind, tuple[tuple[str, int, int], ...]] = {
    ActivityKind.WORKSHOP: (
        ("Atelier de co-conception avec les habitants", 8, 40),
        ("Atelier d'idéation avec les agents", 6, 25),
        ("Atelier de restitution de l'immersion", 10, 45),
    ),
    ActivityKind.TRAINING: (
        ("Formation au design des politiques publiques", 8, 24),
        ("Formation à l'entretien usager", 6, 18),
        ("Formation au prototypage rapide", 8, 20),
    ),
    ActivityKind.WEBINAR: (("Webinaire de partage d'expérience", 20, 140),),
    ActivityKind.USER_TEST: (("Test du prototype avec des usagers", 5, 30),),
    ActivityKind.RESIDENCY: (("Résidence d'immersion de l'équipe projet", 4, 12),),
    ActivityKind.EVENT: (("Journée portes ouvertes du lab", 30, 160),),
}
ACTIVITY_WEIGHTS = {
    ActivityKind.WORKSHOP: 40,
    ActivityKind.TRAINING: 30,
    ActivityKind.WEBINAR: 8,
    ActivityKind.USER_TEST: 12,
    ActivityKind.RESIDENCY: 4,
    ActivityKind.EVENT: 6,
}

RESCHEDULE_REASONS = (
    "Comité de pilotage reporté à la demande des élus",
    "Agents indisponibles pendant l'été",
    "Attente de la décision budgétaire",
    "Recrutement du prestataire plus long que prévu",
    "Terrain plus riche que prévu : entretiens supplémentaires",
)
COVID_REASON = "Crise sanitaire : ateliers en présentiel suspendus"
ELECTION_REASON = "Élections municipales : calendrier décalé après l'installation du conseil"
CANCEL_REASONS = (
    "Fusionné avec un atelier d'un autre projet",
    "Périmètre revu en comité de pilotage",
    "Le besoin n'a pas été confirmé par l'immersion",
)
ITERATE_REASONS = (
    "Les tests usagers invalident le prototype : retour à l'idéation",
    "L'immersion doit être complétée auprès des publics les plus éloignés",
    "Le comité de pilotage demande d'explorer d'autres pistes",
)
HEALTH_REASONS = {
    Health.AT_RISK: (
        "Départ du chef de projet côté collectivité",
        "Financement de la phase suivante non confirmé",
        "Mobilisation des usagers plus faible que prévu",
    ),
    Health.OFF_TRACK: (
        "Le commanditaire a suspendu le projet",
        "Aucun terrain d'expérimentation disponible",
    ),
    Health.ON_TRACK: (
        "Nouveau binôme projet en place",
        "Financement confirmé",
        "Terrain d'expérimentation trouvé",
    ),
}
CLOSE_REASONS = {
    Outcome.DEPLOYED: "Le service est généralisé par la collectivité",
    Outcome.SCALED: "Repris par d'autres territoires avec le kit d'essaimage",
    Outcome.HANDED_OVER: "Transmis à la direction métier, qui le porte désormais",
    Outcome.ABANDONED: "Le besoin a disparu ou le commanditaire s'est retiré",
}
DECISIONS = (
    ("Choix du scénario", "Scénario retenu : un guichet itinérant", "Le mieux reçu aux tests"),
    ("Périmètre de l'expérimentation", "Trois communes volontaires", "Diversité des profils"),
    ("Outil de prise de rendez-vous", "Solution libre déjà utilisée", "Réutilisation, coût"),
    ("Gouvernance", "Comité de pilotage trimestriel avec les usagers", "Garder le lien"),
)
EVIDENCE = (
    "Compte rendu du comité de pilotage",
    "Synthèse publiée sur le site du lab",
    "Rapport d'étonnement et verbatims",
    "Photos et restitution de l'atelier",
    "Délibération du conseil",
)


# -- planning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One command of the portfolio's history, with its business date."""

    on: date
    project: int  # index of the project (-1 for labs), to merge histories stably
    seq: int
    command: str  # a name of the command table (tracker.application.commands.COMMANDS)
    correlation_id: str
    kwargs: dict[str, Any]

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ValueError(f"the seed plans an unknown command {self.command!r}")

    def as_command(self) -> Command:
        """The command this step sends, from the application's one command table."""
        return COMMANDS[self.command](**self.kwargs)


@dataclass
class _ProjectPlan:
    index: int
    project_id: UUID
    rng: random.Random
    end: date
    steps: list[Step] = field(default_factory=list)
    phase: Phase = Phase.FRAMING
    closed: bool = False

    def uuid(self) -> UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def add(self, on: date, command: str, **kwargs: Any) -> bool:
        """Append a command on `on`; False (and nothing added) when that is after the window."""
        if on > self.end:
            return False
        if self.steps and on < self.steps[-1].on:
            on = self.steps[-1].on  # a history never goes back in time
        if command != "register_project":
            kwargs["project_id"] = self.project_id
        self.steps.append(Step(on, self.index, len(self.steps), command, str(self.uuid()), kwargs))
        return True


def new_uuid(rng: random.Random) -> UUID:
    """A random (version 4) UUID drawn from a seeded generator."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def window_end(today: date) -> date:
    """The last business date the seed writes: WINDOW_END, or today if that is earlier."""
    return min(WINDOW_END, today)


def _days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


def _pick_lab(rng: random.Random) -> LabProfile:
    return rng.choices(LABS, weights=[lab.share for lab in LABS])[0]


def _placement(
    rng: random.Random, lab: LabProfile, archetype: Archetype, cog_year: int
) -> tuple[list[Territory], dict[str, str]]:
    place = rng.choice(lab.communes)
    department_code = rng.choice(sorted(lab.departments))
    words = {
        "commune": place.name,
        "department": lab.departments.get(department_code, department_code),
        "region": lab.region_name,
    }
    if archetype.scale == "commune":
        territories = [Territory("commune", place.code, cog_year)]
        if place.department in lab.departments and rng.random() < 0.3:
            territories.append(Territory("department", place.department, cog_year))
        if place.code == "25388" and lab.epcis:
            territories.append(Territory("epci", lab.epcis[0][0], cog_year))
    elif archetype.scale == "department":
        territories = [Territory("department", department_code, cog_year)]
    else:
        territories = [Territory("region", lab.region_code, cog_year)]
    return territories, words


def _plan_project(index: int, rng: random.Random, end: date) -> _ProjectPlan:
    """Plan one project's whole history, keeping the domain's rules."""
    plan = _ProjectPlan(index=index, project_id=new_uuid(rng), rng=rng, end=end)
    lab = _pick_lab(rng)
    archetype = rng.choice(ARCHETYPES)
    span = (end - WINDOW_START).days - 45
    # More projects start in recent years, as the labs grew.
    started_on = WINDOW_START + timedelta(days=int(span * rng.random() ** 0.6))
    territories, words = _placement(rng, lab, archetype, started_on.year)
    themes = list(archetype.themes)
    plan.add(
        started_on,
        "register_project",
        lab=lab.slug,
        title=archetype.title.format(**words),
        summary=archetype.summary.format(**words),
        themes=themes,
        territories=territories,
        started_on=started_on,
        project_id=plan.project_id,
    )
    today = started_on
    partners = list(archetype.partners) + rng.sample(COMMON_PARTNERS, rng.randint(0, 2))
    if archetype.scale == "commune":
        partners.append((f"Commune de {words['commune']}", "commanditaire"))
    for name, role in dict(partners).items():
        today += _days(rng, 0, 20)
        plan.add(today, "add_partner", name=name, role=role, partner_id=str(plan.uuid()))
    for _ in range(rng.choice((1, 1, 1, 2))):
        source, low, high = rng.choice(FUNDING_SOURCES)
        today += _days(rng, 3, 40)
        plan.add(
            today,
            "commit_funding",
            source=source,
            amount_cents=rng.randint(low, high) // 500 * 500 * 100,
            fiscal_year=today.year,
            funding_id=str(plan.uuid()),
        )
    indicators: list[tuple[str, float, float]] = []
    for name, unit, baseline, target in rng.sample(INDICATORS, rng.choice((0, 1, 1, 2))):
        indicator_id = str(plan.uuid())
        today += _days(rng, 0, 15)
        if plan.add(
            today,
            "define_indicator",
            name=name,
            unit=unit,
            baseline=baseline,
            target=target,
            indicator_id=indicator_id,
        ):
            indicators.append((indicator_id, baseline, target))
    _plan_phases(plan, today, indicators)
    return plan


def _plan_phases(
    plan: _ProjectPlan, today: date, indicators: list[tuple[str, float, float]]
) -> None:
    rng, end = plan.rng, plan.end
    visits = 0
    while today <= end:
        visits += 1
        phase = plan.phase
        length = _days(rng, 60, 300)
        gate = today + length
        _plan_phase_work(plan, phase, today, gate, indicators, visits)
        if gate > end:
            return  # the project is in this phase now
        today = gate
        roll = rng.random()
        if phase.rank >= 2 and roll < 0.05:
            _close(plan, today, Outcome.ABANDONED)
        elif phase is Phase.EXPERIMENTATION and roll < 0.15:
            _close(plan, today, Outcome.HANDED_OVER)
        elif phase is Phase.DEPLOYMENT and roll < 0.45:
            _close(plan, today, Outcome.DEPLOYED)
        elif phase is Phase.SCALING:
            _close(plan, today, Outcome.SCALED if roll < 0.7 else Outcome.DEPLOYED)
        elif phase.rank >= 2 and visits < 6 and roll < 0.17:
            back = rng.choice([p for p in Phase if p.rank < phase.rank and p.rank >= 1])
            plan.add(
                today,
                "enter_phase",
                phase=back,
                decision=GateDecision.ITERATE,
                reason=rng.choice(ITERATE_REASONS),
            )
            plan.phase = back
            continue
        else:
            nxt = phase.next()
            assert nxt is not None  # scaling always closes above
            plan.add(today, "enter_phase", phase=nxt, decision=GateDecision.GO, reason=None)
            plan.phase = nxt
            continue
        # Closed: most projects stay closed, a few are reopened by a new request.
        reopen_on = today + _days(rng, 60, 300)
        if rng.random() < 0.06 and reopen_on <= end:
            plan.add(
                reopen_on, "reopen_project", reason="Nouvelle demande des élus : le projet reprend"
            )
            plan.closed = False
            today = reopen_on
            continue
        return


def _close(plan: _ProjectPlan, on: date, outcome: Outcome) -> None:
    plan.add(on, "close_project", outcome=outcome, reason=CLOSE_REASONS[outcome])
    plan.closed = True


def _reschedule_reason(rng: random.Random, on: date) -> str:
    if date(2020, 3, 16) <= on <= date(2020, 12, 15):
        return COVID_REASON
    if date(2020, 1, 15) <= on <= date(2020, 7, 15) or date(2026, 1, 15) <= on <= date(2026, 4, 30):
        return ELECTION_REASON
    return rng.choice(RESCHEDULE_REASONS)


def _plan_phase_work(
    plan: _ProjectPlan,
    phase: Phase,
    start: date,
    gate: date,
    indicators: list[tuple[str, float, float]],
    visits: int,
) -> None:
    """Milestones, activities, health, decisions and measurements of one phase visit.

    Items are gathered, then sent in date order; each chain (plan, reschedule, achieve) has
    non-decreasing dates, so the stable sort keeps it in order. Nothing passes the gate.
    """
    rng = plan.rng
    items: list[tuple[date, str, dict[str, Any]]] = []
    length = max((gate - start).days, 1)

    def at(offset_days: int) -> date:
        return start + timedelta(days=max(0, min(offset_days, length)))

    for number, title in enumerate(rng.sample(MILESTONES[phase], rng.choice((1, 1, 2)))):
        planned_on = at(rng.randint(0, length // 4))
        milestone_id = str(plan.uuid())
        due_on = planned_on + _days(rng, 20, max(21, length))
        suffix = f" ({visits})" if visits > 1 else ""
        items.append(
            (
                planned_on,
                "plan_milestone",
                {
                    "title": title + suffix,
                    "due_on": due_on,
                    "phase": phase,
                    "milestone_id": milestone_id,
                },
            )
        )
        day = planned_on
        if rng.random() < 0.3:
            moved_on = min(day + _days(rng, 5, 30), gate)
            new_due = due_on + _days(rng, 14, 90)
            items.append(
                (
                    moved_on,
                    "reschedule_milestone",
                    {
                        "milestone_id": milestone_id,
                        "due_on": new_due,
                        "reason": _reschedule_reason(rng, moved_on),
                    },
                )
            )
            day, due_on = moved_on, new_due
        roll = rng.random()
        if roll < 0.08:
            cancel_on = min(day + _days(rng, 3, 30), gate)
            reason = rng.choice(CANCEL_REASONS)
            items.append(
                (cancel_on, "cancel_milestone", {"milestone_id": milestone_id, "reason": reason})
            )
        elif roll < 0.85 or number == 0:
            achieved_on = max(day, min(due_on + timedelta(days=rng.randint(-15, 10)), gate))
            evidence = rng.choice(EVIDENCE)
            items.append(
                (
                    achieved_on,
                    "achieve_milestone",
                    {
                        "milestone_id": milestone_id,
                        "achieved_on": achieved_on,
                        "evidence": evidence,
                    },
                )
            )
        # Otherwise the milestone stays planned: upcoming, or overdue on the dashboards.
    kinds = list(ACTIVITY_WEIGHTS)
    weights = list(ACTIVITY_WEIGHTS.values())
    count = rng.choice((0, 0, 0, 0, 1, 1, 2)) if phase.rank <= 4 else rng.choice((0, 0, 1))
    for _ in range(count):
        held_on = at(rng.randint(length // 5, length))
        kind = rng.choices(kinds, weights)[0]
        title, low, high = rng.choice(ACTIVITIES[kind])
        mode = (
            ActivityMode.REMOTE
            if kind is ActivityKind.WEBINAR
            else rng.choice((ActivityMode.IN_PERSON, ActivityMode.IN_PERSON, ActivityMode.HYBRID))
        )
        items.append(
            (
                held_on,
                "log_activity",
                {
                    "kind": kind,
                    "title": title,
                    "held_on": held_on,
                    "participants": rng.randint(low, high),
                    "activity_id": str(plan.uuid()),
                    "mode": mode,
                },
            )
        )
    if rng.random() < 0.3:
        health = rng.choices((Health.AT_RISK, Health.OFF_TRACK), (4, 1))[0]
        on = at(rng.randint(length // 3, length))
        items.append(
            (on, "assess_health", {"health": health, "reason": _health_reason(rng, health)})
        )
        back_on = on + _days(rng, 20, 120)
        if rng.random() < 0.7 and back_on <= gate:
            reason = _health_reason(rng, Health.ON_TRACK)
            items.append((back_on, "assess_health", {"health": Health.ON_TRACK, "reason": reason}))
    if phase in (Phase.IDEATION, Phase.EXPERIMENTATION) and rng.random() < 0.5:
        title, decision, rationale = rng.choice(DECISIONS)
        items.append(
            (
                at(length - rng.randint(0, 10)),
                "record_decision",
                {
                    "title": title,
                    "decision": decision,
                    "rationale": rationale,
                    "decision_id": str(plan.uuid()),
                },
            )
        )
    if phase.rank >= 4:
        for indicator_id, baseline, target in indicators:
            on = at(rng.randint(length // 2, length))
            progress = min(1.2, rng.random() * (phase.rank - 2) / 3)
            value = round(baseline + (target - baseline) * progress, 1)
            items.append(
                (
                    on,
                    "measure_indicator",
                    {"indicator_id": indicator_id, "value": value, "measured_on": on},
                )
            )
    planned: set[str] = set()
    for on, command, kwargs in sorted(items, key=lambda item: item[0]):
        milestone_ref = kwargs.get("milestone_id")
        if (
            command != "plan_milestone"
            and milestone_ref is not None
            and milestone_ref not in planned
        ):
            continue  # its planning fell after the window
        if plan.add(on, command, **kwargs) and command == "plan_milestone":
            planned.add(str(milestone_ref))


def _health_reason(rng: random.Random, health: Health) -> str:
    return rng.choice(HEALTH_REASONS[health])


# -- the training programme ------------------------------------------------------------------

TRAININGS_PER_PROJECT = 2.5
CAMPAIGN_2020 = "mois-innovation-publique-2020"
CAMPAIGN_2020_LAB = "etat-bfc"
# Before any action of November 2020 is scheduled (at most 60 days ahead).
CAMPAIGN_2020_ANNOUNCED = date(2020, 7, 1)
LOCKDOWN = (date(2020, 3, 16), date(2020, 6, 30))
HYBRID_SINCE = date(2021, 9, 1)


@dataclass(frozen=True)
class FormatProfile:
    titles: tuple[str, ...]
    capacity: tuple[int, int]
    sessions: tuple[int, int]
    weight: int


FORMATS: dict[TrainingFormat, FormatProfile] = {
    TrainingFormat.WORKSHOP: FormatProfile(
        (
            "Atelier Crash Test : {theme}",
            "Atelier d'initiation au design de services",
            "Atelier « Mieux écrire pour les usagers »",
            "Atelier « Faciliter une réunion à distance »",
        ),
        (12, 25),
        (1, 1),
        30,
    ),
    TrainingFormat.TRAINING: FormatProfile(
        (
            "Parcours « Innover dans l'action publique »",
            "Formation à l'animation d'ateliers participatifs",
            "Formation aux méthodes agiles pour les équipes projet",
        ),
        (10, 20),
        (1, 3),
        20,
    ),
    TrainingFormat.MODULE: FormatProfile(
        (
            "Module 1 « Design de services : de l'immersion au prototype »",
            "Module 3 « Design de services : mesurer l'impact »",
            "Module « Évaluer une expérimentation »",
        ),
        (14, 24),
        (2, 2),
        12,
    ),
    TrainingFormat.WEBINAR: FormatProfile(
        (
            "Webinaire « L'innovation publique en 45 minutes »",
            "Webinaire retour d'expérience : {theme}",
        ),
        (50, 200),
        (1, 1),
        12,
    ),
    TrainingFormat.E_CONFERENCE: FormatProfile(
        (
            "E-conférence « Le design des politiques publiques »",
            "E-conférence « Les sciences comportementales dans l'action publique »",
        ),
        (100, 300),
        (1, 1),
        8,
    ),
    TrainingFormat.NETWORK_MEETING: FormatProfile(
        ("Réseau de l'innovation publique, épisode {episode}",),
        (20, 45),
        (1, 1),
        10,
    ),
    TrainingFormat.DISCOVERY_DAY: FormatProfile(
        ("Journée découverte du laboratoire", "Journée « Vis ma vie de designer »"),
        (20, 60),
        (1, 1),
        8,
    ),
}
TRAINING_THEMES = (
    "la politique éducative à Besançon",
    "l'accueil en préfecture",
    "les mobilités rurales",
    "l'accès aux droits",
    "la transition écologique des lycées",
)
TRAINING_PARTNERS = (
    "CNFPT",
    "Collège européen de Cluny",
    "Région",
    "DITP",
    "Centre de gestion",
    "ANCT",
    "Université de Bourgogne",
)
TRAINING_CANCEL_REASONS = (
    "Trop peu d'inscrits",
    "Intervenant indisponible",
    "Salle indisponible, pas de date de repli",
)
TRAINING_RESCHEDULE_REASONS = (
    "Conflit avec une instance régionale",
    "Intervenant indisponible à la date prévue",
    "Inscriptions ouvertes trop tard",
)
LOCKDOWN_REASON = "Crise sanitaire : confinement, sessions en présentiel suspendues"
OVERFLOW_REASON = "Liste d'attente ouverte le jour même : une seconde salle a été ajoutée"


def _pick_format(rng: random.Random) -> TrainingFormat:
    formats = list(FORMATS)
    return rng.choices(formats, weights=[FORMATS[f].weight for f in formats])[0]


def _pick_mode(rng: random.Random, first: date) -> ActivityMode:
    if first < LOCKDOWN[0]:
        remote = 0.15
    elif first <= date(2021, 6, 30):
        remote = 0.8
    else:
        remote = 0.4
    if rng.random() < remote:
        return ActivityMode.REMOTE
    if first >= HYBRID_SINCE and rng.random() < 0.3:
        return ActivityMode.HYBRID
    return ActivityMode.IN_PERSON


def _attendance(
    rng: random.Random, capacity: int, audiences: list[str]
) -> tuple[int, dict[str, int], str | None]:
    if rng.random() < 0.03:
        attendance, reason = capacity + rng.randint(1, max(1, capacity // 5)), OVERFLOW_REASON
    else:
        attendance, reason = max(1, round(capacity * rng.uniform(0.45, 1.0))), None
    by_audience: dict[str, int] = {}
    if rng.random() < 0.7:
        weights = [rng.random() for _ in audiences]
        total = sum(weights) or 1.0
        by_audience = {
            a: int(attendance * w / total) for a, w in zip(audiences, weights, strict=True)
        }
    return attendance, by_audience, reason


@dataclass
class _TrainingPlan:
    index: int
    rng: random.Random
    end: date
    steps: list[Step] = field(default_factory=list)

    def add(self, on: date, command: str, **kwargs: Any) -> None:
        self.steps.append(
            Step(on, self.index, len(self.steps), command, str(new_uuid(self.rng)), kwargs)
        )


def _plan_training(plan: _TrainingPlan, lab: LabProfile, first: date, episode: int) -> None:
    """One action's history: scheduled weeks before, then held, cancelled or rescheduled."""
    rng, end = plan.rng, plan.end
    format_ = _pick_format(rng)
    profile = FORMATS[format_]
    sessions = [first + timedelta(days=i) for i in range(rng.randint(*profile.sessions))]
    mode = _pick_mode(rng, first)
    if format_ in (TrainingFormat.WEBINAR, TrainingFormat.E_CONFERENCE):
        mode = ActivityMode.REMOTE
    place = rng.choice(lab.communes)
    capacity = rng.randint(*profile.capacity)
    audiences = sorted(rng.sample([a.value for a in Audience], rng.randint(1, 4)))
    campaign = (
        CAMPAIGN_2020
        if date(2020, 11, 2) <= first <= date(2020, 11, 30) and rng.random() < 0.7
        else None
    )
    training_id = str(new_uuid(rng))
    scheduled_on = max(WINDOW_START, first - _days(rng, 14, 60))
    plan.add(
        scheduled_on,
        "schedule_training",
        training_id=training_id,
        lab=lab.slug,
        title=rng.choice(profile.titles).format(theme=rng.choice(TRAINING_THEMES), episode=episode),
        format=format_,
        session_dates=sessions,
        mode=mode,
        place=None if mode is ActivityMode.REMOTE else Territory("commune", place.code, first.year),
        partners=rng.sample(TRAINING_PARTNERS, rng.randint(0, 2)),
        audiences=audiences,
        capacity=capacity,
        campaign=campaign,
    )
    training = uuid.UUID(training_id)
    in_lockdown = LOCKDOWN[0] <= first <= LOCKDOWN[1] and mode is not ActivityMode.REMOTE
    draw = rng.random()
    if in_lockdown or draw < 0.06:
        # Cancelled, or moved to later dates and then held (the lockdown did both).
        if rng.random() < 0.5:
            reason = LOCKDOWN_REASON if in_lockdown else rng.choice(TRAINING_CANCEL_REASONS)
            plan.add(
                min(end, max(scheduled_on, first - _days(rng, 1, 10))),
                "cancel_training",
                training_id=training,
                reason=reason,
            )
            return
        shift = _days(rng, 120, 200) if in_lockdown else _days(rng, 14, 45)
        moved = [d + shift for d in sessions]
        on = min(end, max(scheduled_on, first - _days(rng, 1, 10)))
        plan.add(
            on,
            "reschedule_training",
            training_id=training,
            session_dates=moved,
            reason=LOCKDOWN_REASON if in_lockdown else rng.choice(TRAINING_RESCHEDULE_REASONS),
        )
        sessions = moved
    if sessions[-1] + timedelta(days=1) > end or draw > 0.985:
        return  # still ahead, or its attendance not yet recorded
    attendance, by_audience, overflow = _attendance(rng, capacity, audiences)
    plan.add(
        min(end, sessions[-1] + _days(rng, 0, 7)),
        "hold_training",
        training_id=training,
        attendance=attendance,
        attendance_by_audience=by_audience,
        reason=overflow,
    )


def _november_2020(plan: _TrainingPlan) -> None:
    """The Mois de l'innovation publique 2020 programme in Bourgogne-Franche-Comté."""
    all_local = ["region", "department", "communes_epci"]
    programme: list[dict[str, Any]] = [
        {
            "title": "Module 2 « Design de services : du test au déploiement »",
            "format": TrainingFormat.MODULE,
            "session_dates": [date(2020, 11, 23), date(2020, 11, 24)],
            "mode": ActivityMode.IN_PERSON,
            "place": Territory("commune", "58194", 2020),
            "partners": ["CNFPT"],
            "audiences": all_local,
            "capacity": 16,
            "attendance": (14, {"communes_epci": 9, "department": 3, "region": 2}),
        },
        {
            "title": "« Le Design au service des collectivités »",
            "format": TrainingFormat.E_CONFERENCE,
            "session_dates": [date(2020, 11, 27)],
            "mode": ActivityMode.REMOTE,
            "partners": ["CNFPT"],
            "registration_ref": "L3C10001",
            "audiences": all_local,
            "capacity": 300,
            "attendance": (142, {"communes_epci": 98, "department": 27, "region": 11}),
        },
        {
            "title": "Réseau de l'innovation publique, épisode 2",
            "format": TrainingFormat.NETWORK_MEETING,
            "session_dates": [date(2020, 11, 27)],
            "mode": ActivityMode.REMOTE,
            "partners": ["Région", "CNFPT"],
            "audiences": ["state", *all_local, "hospitals"],
            "capacity": 40,
            "attendance": (31, {"state": 9, "region": 8, "communes_epci": 10, "hospitals": 2}),
        },
        {
            "title": "Atelier Crash Test : la politique éducative à Besançon",
            "format": TrainingFormat.WORKSHOP,
            "session_dates": [date(2020, 11, 30)],
            "mode": ActivityMode.REMOTE,
            "partners": [],
            "audiences": ["communes_epci"],
            "capacity": 15,
            "attendance": (12, {"communes_epci": 12}),
        },
        {
            "title": "De la facilitation à la facilitation graphique",
            "format": TrainingFormat.WORKSHOP,
            "session_dates": [date(2020, 11, 30)],
            "mode": ActivityMode.REMOTE,
            "partners": [],
            "audiences": ["state", *all_local],
            "capacity": 25,
            "attendance": (22, {}),
        },
    ]
    plan.add(
        CAMPAIGN_2020_ANNOUNCED,
        "register_campaign",
        slug=CAMPAIGN_2020,
        name="Mois de l'innovation publique 2020",
        starts_on=date(2020, 11, 2),
        ends_on=date(2020, 11, 30),
        theme="la transformation publique au cœur des territoires",
        organiser="DITP",
    )
    for action in programme:
        attendance, by_audience = action.pop("attendance")
        training_id = str(new_uuid(plan.rng))
        plan.add(
            date(2020, 10, 12),
            "schedule_training",
            training_id=training_id,
            lab=CAMPAIGN_2020_LAB,
            campaign=CAMPAIGN_2020,
            **action,
        )
        if action["session_dates"][-1] <= plan.end:
            plan.add(
                action["session_dates"][-1],
                "hold_training",
                training_id=uuid.UUID(training_id),
                attendance=attendance,
                attendance_by_audience=by_audience,
            )


def plan_programme(count: int, rng: random.Random, end: date, first_index: int) -> list[Step]:
    """The labs' training programme: `count` actions over the window (the November 2020
    programme among them), each with its history; the campaign registered first."""
    plans: list[_TrainingPlan] = []
    november = _TrainingPlan(first_index, random.Random(rng.getrandbits(64)), end)
    if end >= CAMPAIGN_2020_ANNOUNCED:
        _november_2020(november)
        plans.append(november)
    span = (end - WINDOW_START).days
    episodes: Counter[str] = Counter()
    for number in range(max(0, count - 5)):
        plan = _TrainingPlan(first_index + 1 + number, random.Random(rng.getrandbits(64)), end)
        lab = _pick_lab(plan.rng)
        # Dates spread over the window and a little beyond (actions already scheduled).
        first = WINDOW_START + timedelta(days=plan.rng.randint(14, span + 45))
        episodes[lab.slug] += 1
        _plan_training(plan, lab, first, 2 + episodes[lab.slug])
        if plan.steps and plan.steps[0].on <= end:  # not yet scheduled: no history at all
            plans.append(plan)
    # A history never goes back in time, and no command is dated after the window.
    return [s for plan in plans for s in plan.steps if s.on <= end]


# -- running -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedSummary:
    """What a seed wrote."""

    labs: int
    projects: int
    events: int
    commands: dict[str, int]
    activities: int
    participants: int
    closed: dict[str, int]
    first_day: date
    last_day: date
    seconds: float
    sample_project: UUID | None = None  # an open project of the regional lab, for examples
    trainings: int = 0  # training actions scheduled
    agents_trained: int = 0  # the attendance of those held

    def line(self) -> str:
        """One line for the terminal."""
        closed = sum(self.closed.values())
        return (
            f"seeded {self.labs} labs, {self.projects:,} projects and {self.events:,} events "
            f"({self.activities:,} activities, {self.participants:,} participants, "
            f"{closed} closed; {self.trainings:,} training actions, "
            f"{self.agents_trained:,} agents trained) from {self.first_day} to {self.last_day} "
            f"in {self.seconds:.1f} s"
        )


def plan_portfolio(projects: int, seed: int, today: date) -> tuple[list[Step], list[Step]]:
    """The labs' registrations and every project's commands, in the order they are sent."""
    if not 1 <= projects <= MAX_PROJECTS:
        raise SeedError(f"--projects must be between 1 and {MAX_PROJECTS:,}, got {projects}")
    end = window_end(today)
    master = random.Random(seed)
    lab_steps = [
        Step(
            WINDOW_START - timedelta(days=7 - number),
            -1,
            number,
            "register_lab",
            str(new_uuid(master)),
            {"slug": lab.slug, "name": lab.name, "region_code": lab.region_code},
        )
        for number, lab in enumerate(LABS)
    ]
    # Each project draws from its own generator, seeded from the master one, so a change in
    # one project's plan does not reshuffle every project after it.
    plans = [
        _plan_project(index, random.Random(master.getrandbits(64)), end)
        for index in range(projects)
    ]
    # Drawn after the projects: the programme never reshuffles their plans.
    programme = plan_programme(
        round(projects * TRAININGS_PER_PROJECT),
        random.Random(master.getrandbits(64)),
        end,
        projects,
    )
    steps = sorted(
        [*(step for plan in plans for step in plan.steps), *programme],
        key=lambda s: (s.on, s.project, s.seq),
    )
    return lab_steps, steps


def portfolio_is_empty(application: TrackerApplication) -> bool:
    """True when no lab is registered (so no project either: a project belongs to a lab).

    The admin log does not count: creating a token before seeding is fine.
    """
    return not application.list_labs()


def seed_portfolio(
    application: TrackerApplication,
    projects: int = DEFAULT_PROJECTS,
    seed: int = DEFAULT_SEED,
    *,
    force: bool = False,
    on_step: Callable[[int, int], None] | None = None,
) -> SeedSummary:
    """Write the demo portfolio through the application's commands.

    Refuses a store that holds a portfolio (a lab) unless `force`: seeding adds to whatever
    is there, and a second seed with the same `seed` would collide with the first one's ids.
    With `force`, labs that exist are kept; projects whose ids exist make it stop before
    writing.
    `on_step(done, total)` is called after each command (for a progress bar).
    """
    started = time.perf_counter()
    if not force and not portfolio_is_empty(application):
        raise SeedError(
            "the event store holds a portfolio already: seeding adds a second one to it; "
            "use --force to seed anyway, or point TRACKER_DATABASE_URL at an empty database"
        )
    lab_steps, steps = plan_portfolio(projects, seed, application.today())
    existing_labs = {lab.slug for lab in application.list_labs()} if force else set()
    lab_steps = [s for s in lab_steps if s.kwargs["slug"] not in existing_labs]
    if force:
        steps = [
            s
            for s in steps
            if s.command != "register_campaign"
            or Campaign.id_for(s.kwargs["slug"]) not in application.repository
        ]
    if force:
        first = next(s for s in steps if s.command == "register_project")
        if first.kwargs["project_id"] in application.repository:
            raise SeedError(f"--seed {seed} was loaded into this store already: use another --seed")
    every = [*lab_steps, *steps]
    total = len(every)
    commands = Counter(step.command for step in every)
    for start in range(0, total, SAVE_EVERY):
        batch = every[start : start + SAVE_EVERY]
        application.execute_many(
            [
                (step.as_command(), application.meta(SEED_ACTOR, step.correlation_id, step.on))
                for step in batch
            ]
        )
        if on_step is not None:
            on_step(start + len(batch), total)
    activities = [s for s in steps if s.command == "log_activity"]
    closed = Counter(s.kwargs["outcome"].value for s in steps if s.command == "close_project")
    return SeedSummary(
        labs=len(LABS),
        projects=projects,
        events=total,
        commands=dict(commands),
        activities=len(activities),
        participants=sum(s.kwargs["participants"] for s in activities),
        closed=dict(closed),
        first_day=lab_steps[0].on if lab_steps else steps[0].on,
        last_day=max(s.on for s in steps),
        seconds=time.perf_counter() - started,
        sample_project=pick_sample_project(steps),
        trainings=commands["schedule_training"],
        agents_trained=sum(s.kwargs["attendance"] for s in steps if s.command == "hold_training"),
    )


def pick_sample_project(steps: list[Step]) -> UUID | None:
    """The first registered project of the regional lab that is open at the end."""
    open_projects: dict[UUID, bool] = {}
    for step in steps:
        if step.command == "register_project" and step.kwargs["lab"] == LABS[0].slug:
            open_projects[step.kwargs["project_id"]] = True
        elif step.command in ("close_project", "reopen_project"):
            project_id = step.kwargs["project_id"]
            if project_id in open_projects:
                open_projects[project_id] = step.command == "reopen_project"
    return next((pid for pid, is_open in open_projects.items() if is_open), None)
