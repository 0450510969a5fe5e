# ruff: noqa: E501  (the values' texts are data, one line each)
"""Writes profiles/seeds/everyday.json: the everyday values pack (run from the repository root).

Each value: name, label, description, what people high and low on it choose, and the everyday
words (synonyms) the chat matches to it.
"""

from __future__ import annotations

import json
from pathlib import Path

V = [
    (
        "honesty",
        "Honesty",
        "Telling the truth and dealing openly: not lying, not deceiving, owning up to mistakes and giving back what is not one's own, even when the truth costs something.",
        "tells the truth and gives back what is not theirs: owns up to the mistake, returns the lost wallet or the extra change, corrects the error in their favour, refuses to lie or to fake a document even when it would pay",
        "bends the truth when it pays or spares trouble: keeps quiet about the mistake, tells a convenient lie, keeps money or things that are not theirs when nobody would know, fakes an excuse",
        ["being honest", "telling the truth", "truthfulness", "truth", "not lying", "integrity", "owning up"],
        ["honest", "truthful"],
    ),
    (
        "family",
        "Family",
        "Putting one's family first: partner, children, parents, brothers and sisters, their needs, time together and looking after them.",
        "puts family first: turns down the job that would take them away from the children, spends the weekend with their parents, uses savings to help a sibling, is there for the family's events and needs",
        "puts own plans, work or friends ahead of family: takes the job far away, skips the family gathering, lets relatives manage on their own, keeps time and money for themselves",
        [
            "my family",
            "the family",
            "family time",
            "my kids",
            "my children",
            "my parents",
            "my partner",
            "loved ones",
        ],
        ["family-oriented"],
    ),
    (
        "health",
        "Health",
        "Looking after one's own body and mind: eating well, moving, sleeping, seeing a doctor, avoiding what harms one's health.",
        "chooses what keeps body and mind well: goes to bed early, cooks a healthy meal, sees the doctor about the symptom, takes the stairs, says no to one more drink or the all-nighter",
        "lets health come last: skips sleep and meals for work or fun, ignores the symptom, eats fast food, keeps smoking or drinking, works through illness",
        ["my health", "wellbeing", "well-being", "staying healthy", "fitness", "my body", "mental health"],
        ["healthy"],
    ),
    (
        "financial_security",
        "Financial security",
        "Keeping one's money safe and steady: savings for hard times, no debts one cannot carry, no gambles with money one needs.",
        "keeps money safe and steady: puts the windfall in savings, keeps an emergency fund, avoids debt and risky bets, picks the secure salary over the uncertain venture",
        "lets money go or gambles it: spends the windfall, borrows for wants, invests savings in a risky venture, leaves no reserve for hard times",
        [
            "money",
            "savings",
            "financial safety",
            "saving money",
            "my finances",
            "being careful with money",
            "a financial cushion",
        ],
        ["thrifty", "frugal"],
    ),
    (
        "career",
        "Career",
        "Getting ahead at work: promotion, skills, reputation and pay, and the work that leads there.",
        "chooses what advances their work life: takes the demanding project, moves for the promotion, stays late to finish the pitch, takes the course that gets them the next job",
        "does not put work advancement first: turns down the promotion, leaves on time, takes the job with less prospect but more ease, lets the chance to shine go to someone else",
        [
            "my career",
            "my job",
            "work",
            "success at work",
            "getting ahead",
            "promotion",
            "ambition",
            "professional success",
        ],
        ["ambitious", "career-minded"],
    ),
    (
        "environment",
        "Environment",
        "Protecting nature and the climate through one's own choices: less waste, less energy, less flying and driving, care for wildlife.",
        "chooses the greener way even at a cost: takes the train instead of the plane, repairs instead of buying new, eats less meat, sorts the waste, protects the trees and the wildlife",
        "chooses convenience or price over the planet: flies for a weekend away, buys new and throws away, drives short trips, leaves the heating on, ignores the waste",
        [
            "the environment",
            "nature",
            "the planet",
            "climate",
            "sustainability",
            "protecting nature",
            "being green",
        ],
        ["green", "eco-friendly"],
    ),
    (
        "personal_freedom",
        "Personal freedom",
        "Living one's own life without being controlled: choosing for oneself, keeping one's options open, not being tied down or told what to do.",
        "keeps their freedom to choose: rents instead of being tied to a mortgage, refuses to be told what to wear or whom to see, goes freelance, says no to the commitment that would bind them",
        "accepts ties and rules set by others: signs the long contract, lets family or employer decide, gives up their own choices to fit in with an arrangement",
        ["freedom", "liberty", "being free", "not being told what to do", "my freedom", "autonomy"],
        ["free-spirited"],
    ),
    (
        "generosity",
        "Generosity",
        "Giving money, time or things freely to others, also to people outside one's circle, without expecting a return.",
        "gives freely: donates part of the bonus, pays for the meal, lends the car, gives time to someone who needs it, leaves a big tip",
        "keeps their money, time and things for themselves: splits to the cent, says no to the collection, keeps the bonus, does not lend",
        ["being generous", "giving", "charity", "sharing", "helping others"],
        ["generous"],
    ),
    (
        "personal_loyalty",
        "Loyalty to people",
        "Standing by the people one is close to (friends, partner, colleagues, teammates): keeping their confidence, defending them, not abandoning them when it costs something.",
        "stands by their friends and people close to them: keeps a friend's secret, backs a colleague in trouble, sticks with the friend through a hard time, does not switch sides for gain",
        "puts other interests before the people close to them: tells a friend's secret, drops a colleague who is in trouble, changes sides when it pays",
        [
            "loyalty",
            "being loyal",
            "standing by my friends",
            "sticking by people",
            "my friends",
            "friendship",
        ],
        ["loyal"],
    ),
    (
        "customs",
        "Tradition and customs",
        "Keeping the customs, holidays and ways of one's family, culture and religion, and passing them on.",
        "keeps and passes on the customs: hosts the holiday meal the old way, marries in the family's tradition, keeps the family recipe and the name, goes to the yearly gathering",
        "lets customs go for new or simpler ways: skips the traditional ceremony, celebrates holidays their own way, breaks with how the family has always done it",
        ["tradition", "traditions", "customs", "heritage", "my culture", "the old ways"],
        ["traditional"],
    ),
    (
        "fair_play",
        "Fair play",
        "Playing by the rules and treating people even-handedly: no cheating, no queue-jumping, everyone judged by the same standard, credit and blame where they belong.",
        "plays fair even when it costs them: refuses to cheat on the test, gives credit to the person who did the work, waits their turn, judges their own child by the same rules as others",
        "takes an unfair advantage when they can: copies the answers, takes the credit, jumps the queue, bends the rules for themselves or their own",
        ["fairness", "being fair", "playing fair", "justice", "not cheating", "equal treatment"],
        ["fair", "just"],
    ),
    (
        "safety",
        "Safety",
        "Keeping oneself and others out of harm's way: avoiding danger, taking precautions, not taking physical risks.",
        "takes the safe way: drives the long safe road, wears the helmet, stays home in the storm, hires a professional for the risky job, keeps the children away from danger",
        "accepts danger for speed, fun or savings: drives tired, climbs without a rope, does the wiring themselves, goes out in the storm",
        ["being safe", "staying safe", "protection", "avoiding danger", "playing it safe"],
        ["safe", "cautious", "careful"],
    ),
    (
        "adventure",
        "Adventure",
        "Seeking new, exciting and daring experiences: travel to the unknown, thrills, change and novelty.",
        "picks the new and exciting: backpacks through an unknown country, tries the extreme sport, moves abroad on a whim, takes the unplanned road trip",
        "picks the familiar and calm: the same holiday spot, the known route, the evening at home, the plan without surprises",
        ["excitement", "thrills", "new experiences", "travel", "exploring", "trying new things", "novelty"],
        ["adventurous", "daring", "spontaneous"],
    ),
    (
        "kindness",
        "Kindness",
        "Being warm, considerate and gentle with others: sparing their feelings, helping in small ways, treating people well.",
        "treats people warmly and considerately: helps the lost stranger, speaks gently, visits the lonely neighbour, forgives the small mistake, stops to help",
        "stays cool or harsh with others: walks past, says the hurtful thing, holds the grudge, does not go out of their way for people",
        ["being kind", "compassion", "caring", "consideration", "empathy", "being nice"],
        ["kind", "caring", "compassionate"],
    ),
    (
        "independence",
        "Independence",
        "Relying on oneself: doing things on one's own, paying one's own way, not depending on others' help or money.",
        "does it on their own: pays their own rent, fixes it themselves, turns down the parents' money, studies alone, solves the problem without asking for help",
        "leans on others: takes the parents' money, asks for help, lets someone else do it, shares the load",
        ["self-reliance", "standing on my own feet", "doing things myself", "being independent"],
        ["independent", "self-reliant"],
    ),
    (
        "community",
        "Community",
        "Doing one's part for the neighbourhood, town and the people around one: volunteering, civic duties, local life.",
        "takes part in the community: volunteers at the local event, joins the residents' meeting, serves on the jury, helps the neighbours, shops locally to keep the high street alive",
        "keeps to their own affairs: skips the neighbourhood meeting, avoids jury duty, does not volunteer, stays out of local life",
        [
            "my community",
            "the community",
            "neighbours",
            "civic duty",
            "volunteering",
            "my town",
            "the neighbourhood",
        ],
        ["civic-minded"],
    ),
    (
        "faith",
        "Faith",
        "Living by one's religious faith: prayer, worship, religious rules and the faith community.",
        "lives by their faith: goes to the service, keeps the fast and the holy days, asks the faith community for counsel, gives as their religion asks",
        "lets religious practice go: skips the service, works on the holy day, decides without the faith's rules",
        ["religion", "my faith", "god", "prayer", "my religion", "church", "belief"],
        ["religious", "devout", "spiritual"],
    ),
    (
        "learning",
        "Learning",
        "Growing in knowledge and skill: reading, studying, taking courses, understanding how things work.",
        "chooses to learn: takes the evening class, reads the book, learns the language, spends the money on a course, asks to understand rather than be told",
        "does not seek to learn: skips the course, sticks with what they know, spends the time and money on other things",
        ["education", "knowledge", "studying", "growing", "curiosity", "self-improvement", "understanding"],
        ["curious", "studious"],
    ),
    (
        "comfort",
        "Comfort and pleasure",
        "Enjoying life: comfort, rest, treats and pleasure for oneself.",
        "chooses comfort and enjoyment: the comfortable seat, the night in with a good meal, the holiday by the pool, the treat, sleeping in",
        "gives up comfort and pleasure for duty, saving or others: the plain meal, the early start, the cheap seat, works through the weekend",
        [
            "pleasure",
            "enjoyment",
            "enjoying life",
            "fun",
            "relaxation",
            "treats",
            "luxury",
            "having a good time",
        ],
        ["easygoing", "fun-loving"],
    ),
    (
        "reliability",
        "Keeping one's word",
        "Doing what one has promised: keeping commitments, appointments and agreements, being someone others can count on.",
        "keeps their word even when a better offer comes: shows up as agreed, finishes the job they promised, honours the deal made on a handshake, pays back the loan on time",
        "drops a commitment when something better comes along: cancels at the last minute, backs out of the deal, breaks the promise, lets the deadline slide",
        [
            "keeping my word",
            "keeping promises",
            "my word",
            "commitment",
            "being reliable",
            "dependability",
            "keeping my promises",
        ],
        ["reliable", "dependable", "trustworthy"],
    ),
]


def main() -> None:
    pack = {
        "pack": "everyday",
        "description": "Everyday values: what people name when they ask for advice on money, work, family, "
        "health and friendship (honesty, family, health, financial security, ...), in their own words.",
        "attributes": [
            {
                "name": n,
                "kind": "scalar",
                "domain": "everyday",
                "label": lab,
                "description": d,
                "high": hi,
                "low": lo,
                "scale_min": 0,
                "scale_max": 1,
                "synonyms": [*syn, *adj],
            }
            for n, lab, d, hi, lo, syn, adj in V
        ],
    }
    Path("profiles/seeds/everyday.json").write_text(json.dumps(pack, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
